// kube-test-apiserver: a hermetic Kubernetes API server for end-to-end tests (see README.md).
//   kube-test-apiserver --port 0 --dir DIR [--history N] [--bookmark-interval SECONDS]
//                       [--threads N] [--token TOKEN] [--verbose]
// Prints "ready https://127.0.0.1:PORT" once serving; DIR/kubeconfig points kubectl at it.
#include "api.h"
#include "gc.h"
#include "registry.h"
#include "server.h"
#include "storage.h"
#include "tls.h"
#include "util.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <pthread.h>
#include <string>
#include <thread>

namespace {

struct Args {
  int port = 0;
  std::string dir = ".";
  size_t history = 1000;
  double bookmarkSeconds = 1.0;
  size_t threads = 128;
  std::string token;
  bool verbose = false;
};

void usage() {
  std::fprintf(stderr,
               "usage: kube-test-apiserver --port N --dir DIR [--history N] [--bookmark-interval SECONDS]\n"
               "                           [--threads N] [--token TOKEN] [--verbose]\n");
}

bool parseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (k == "--verbose" || k == "-v") {
      a.verbose = true;
      continue;
    }
    if (k == "--help" || k == "-h") return false;
    if (!(v = value())) return false;
    if (k == "--port") a.port = std::atoi(v);
    else if (k == "--dir") a.dir = v;
    else if (k == "--history") a.history = std::strtoull(v, nullptr, 10);
    else if (k == "--bookmark-interval") a.bookmarkSeconds = std::atof(v);
    else if (k == "--threads") a.threads = std::strtoull(v, nullptr, 10);
    else if (k == "--token") a.token = v;
    else return false;
  }
  return a.port >= 0 && a.port < 65536 && a.threads > 0;
}

bool writeFile(const std::filesystem::path& p, const std::string& content) {
  std::ofstream f(p, std::ios::trunc);
  f << content;
  f.close();
  std::error_code ec;
  std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  return static_cast<bool>(f);
}

std::string kubeconfig(int port, const std::string& caPem, const std::string& token) {
  std::string server = "https://127.0.0.1:" + std::to_string(port);
  return "apiVersion: v1\n"
         "kind: Config\n"
         "clusters:\n"
         "- name: kube-test-apiserver\n"
         "  cluster:\n"
         "    server: " + server + "\n"
         "    certificate-authority-data: " + kta::base64Encode(caPem) + "\n"
         "users:\n"
         "- name: kube-test-apiserver\n"
         "  user:\n"
         "    token: " + token + "\n"
         "contexts:\n"
         "- name: kube-test-apiserver\n"
         "  context:\n"
         "    cluster: kube-test-apiserver\n"
         "    user: kube-test-apiserver\n"
         "    namespace: default\n"
         "current-context: kube-test-apiserver\n"
         "preferences: {}\n";
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parseArgs(argc, argv, args)) {
    usage();
    return 2;
  }
  // Signals are taken by a dedicated thread; block them everywhere else (threads inherit this).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto tls = kta::generateTlsMaterial();
  if (!tls) {
    std::fprintf(stderr, "kube-test-apiserver: %s\n", tls.error().message.c_str());
    return 1;
  }
  std::string token = args.token.empty() ? kta::randomHex(24) : args.token;

  kta::Store store(args.history);
  kta::Registry registry;
  kta::Api api(store, registry);
  api.setClusterCa(tls->caPem);
  api.bootstrap();

  kta::ServerOptions so;
  so.port = args.port;
  so.threads = args.threads;
  so.bookmarkInterval = std::chrono::milliseconds(static_cast<long long>(args.bookmarkSeconds * 1000));
  if (so.bookmarkInterval.count() <= 0) so.bookmarkInterval = std::chrono::milliseconds(1000);
  so.verbose = args.verbose;
  kta::HttpServer server(api, *tls, token, so);
  auto port = server.bind();
  if (!port) {
    std::fprintf(stderr, "kube-test-apiserver: %s\n", port.error().message.c_str());
    return 1;
  }

  std::error_code ec;
  std::filesystem::create_directories(args.dir, ec);
  std::filesystem::path dir(args.dir);
  if (!writeFile(dir / "kubeconfig", kubeconfig(*port, tls->caPem, token)) || !writeFile(dir / "ca.crt", tls->caPem) ||
      !writeFile(dir / "token", token + "\n")) {
    std::fprintf(stderr, "kube-test-apiserver: cannot write to %s\n", args.dir.c_str());
    return 1;
  }

  kta::PeriodicTask gc(
      [&api] {
        try {
          api.sweep();
        } catch (const std::exception& e) {
          std::fprintf(stderr, "kube-test-apiserver: garbage collection: %s\n", e.what());
        }
      },
      std::chrono::milliseconds(1000));
  std::thread signalThread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    store.log().shutdown();  // ends open watches
    server.stop();
  });

  std::printf("ready https://127.0.0.1:%d\n", *port);
  std::fflush(stdout);
  server.run();

  // run() also returns if the listener fails; make sure the signal thread can finish.
  if (!store.log().stopped()) {
    store.log().shutdown();
    pthread_kill(signalThread.native_handle(), SIGTERM);
  }
  signalThread.join();
  gc.stop();
  return 0;
}
