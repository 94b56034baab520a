// Persistence for restarts (--state-file): the state is every stored object (namespaces and
// CRDs included) with its resource key, the resourceVersion counter and the cluster-IP
// allocator, as one JSON document. Saving takes a consistent snapshot under the store's lock and
// writes it atomically (temporary file, fsync, rename). Loading puts the objects back without
// watch events, installs the CRDs' types and continues the counter; the event log starts empty,
// so a watch from an older resourceVersion gets 410 Expired, as after a real API server restart.
#pragma once

#include "api.h"

#include <string>

namespace kta {

/// Writes the state to `path` atomically.
Status saveStateFile(Api& api, const std::string& path);
/// Loads `path` into an empty server (before bootstrap and serving). Returns false when the file
/// does not exist, an error when it cannot be read or is not a state file.
Result<bool> loadStateFile(Api& api, const std::string& path);

}  // namespace kta
