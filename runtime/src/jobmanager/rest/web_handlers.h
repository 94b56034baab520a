// The web dashboard beside the REST API on rest.port: GET / (and /index.html) and the bundle's
// files, from the assets embedded at build time (jobmanager/web/dashboard_assets.h). The pages
// are a single-page application that reads the REST API; they route with the URL's fragment
// (/#/jobs/<id>), so no REST path is shadowed. Without a built dashboard, / answers an HTML page
// that says so and how to build it. Handlers run on httplib's threads and touch no JobManager
// state.
#pragma once

#include <httplib.h>

namespace flink {

void registerWebHandlers(httplib::Server& server);

}  // namespace flink
