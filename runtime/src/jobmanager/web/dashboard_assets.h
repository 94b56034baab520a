// The web dashboard's files, embedded into the binary at build time: scripts/build-dashboard.sh
// bundles runtime/dashboard/ with esbuild and writes dashboard_assets.cc (in the build directory)
// with each file as a byte array. A build without npm writes the same file with no assets and
// the reason, and the JobManager's `/` then says the dashboard was not built.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace flink::web {

/// One embedded file, served at `path` ("/index.html", "/dashboard.js", ...).
struct DashboardAsset {
  std::string_view path;
  std::string_view contentType;
  std::string_view data;
};

/// Every embedded file of the dashboard; empty when the dashboard was not built.
std::span<const DashboardAsset> dashboardAssets();
/// Why the dashboard was not built ("" when it was).
std::string_view dashboardMissingReason();

}  // namespace flink::web
