// kube-test-apiserver: a hermetic Kubernetes API server for end-to-end tests (see README.md).
//   kube-test-apiserver --port 0 --dir DIR [--history N] [--bookmark-interval SECONDS]
//                       [--threads N] [--token TOKEN] [--state-file PATH [--state-interval SECONDS]]
//                       [--verbose]
// Prints "ready https://127.0.0.1:PORT" once serving; DIR/kubeconfig points kubectl at it.
// SIGTERM/SIGINT: end watches, save the state (with --state-file), exit 0. SIGUSR1: end the
// watches open now (clients reconnect, as after a watch timeout).
#include "api.h"
#include "gc.h"
#include "persist.h"
#include "registry.h"
#include "server.h"
#include "storage.h"
#include "tls.h"
#include "util.h"

#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <sstream>
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
  std::string stateFile;
  double stateSeconds = 0;  // 0: save only at exit
  bool verbose = false;
  std::string advertiseAddress;  // "": only 127.0.0.1
};

void usage() {
  std::fprintf(stderr,
               "usage: kube-test-apiserver --port N --dir DIR [--history N] [--bookmark-interval SECONDS]\n"
               "                           [--threads N] [--token TOKEN] [--state-file PATH [--state-interval SECONDS]]\n"
               "                           [--advertise-address IP] [--verbose]\n");
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
    else if (k == "--state-file") a.stateFile = v;
    else if (k == "--state-interval") a.stateSeconds = std::atof(v);
    else if (k == "--advertise-address") a.advertiseAddress = v;
    else return false;
  }
  return a.port >= 0 && a.port < 65536 && a.threads > 0 && a.stateSeconds >= 0;
}

// Writes through a temporary file and a rename, so that a client reading the kubeconfig while a
// server restarts never sees it half-written.
bool writeFile(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::path tmp = p;
  tmp += ".tmp";
  std::ofstream f(tmp, std::ios::trunc);
  f << content;
  f.close();
  if (!f) return false;
  std::error_code ec;
  std::filesystem::permissions(tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  std::filesystem::rename(tmp, p, ec);
  return !ec;
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
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
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::error_code ec;
  std::filesystem::create_directories(args.dir, ec);
  std::filesystem::path dir(args.dir);

  // The CA and token of a previous run in the same --dir are reused, so that its kubeconfig
  // stays valid across restarts; a new server certificate is signed by that CA each time.
  // With --advertise-address (what pods use: the `kubernetes` Service's endpoint) the server
  // listens on every address and its certificate names that one too.
  std::vector<std::string> extraNames;
  if (!args.advertiseAddress.empty()) extraNames.push_back(args.advertiseAddress);
  kta::Result<kta::TlsMaterial> tls = kta::internalError("no CA in " + args.dir);
  if (std::filesystem::exists(dir / "ca.crt") && std::filesystem::exists(dir / "ca.key")) {
    tls = kta::tlsMaterialFromCa(readFile(dir / "ca.crt"), readFile(dir / "ca.key"), extraNames);
    if (!tls) std::fprintf(stderr, "kube-test-apiserver: not reusing the CA in %s (%s): generating a new one\n",
                           args.dir.c_str(), tls.error().message.c_str());
  }
  if (!tls) tls = kta::generateTlsMaterial(extraNames);
  if (!tls) {
    std::fprintf(stderr, "kube-test-apiserver: %s\n", tls.error().message.c_str());
    return 1;
  }
  std::string token = args.token;
  if (token.empty() && std::filesystem::exists(dir / "token")) {
    token = readFile(dir / "token");
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  }
  if (token.empty()) token = kta::randomHex(24);

  kta::Store store(args.history);
  kta::Registry registry;
  kta::Api api(store, registry);
  api.setClusterCa(tls->caPem);
  bool restored = false;
  if (!args.stateFile.empty()) {
    auto loaded = kta::loadStateFile(api, args.stateFile);
    if (!loaded) {
      std::fprintf(stderr, "kube-test-apiserver: %s\n", loaded.error().message.c_str());
      return 1;
    }
    restored = *loaded;
  }
  if (restored) {
    auto [objects, rv] = store.transact([](kta::Store::Txn& t) { return std::pair(t.all().size(), t.currentRv()); });
    std::fprintf(stderr, "kube-test-apiserver: restored %zu objects from %s at resourceVersion %llu\n", objects,
                 args.stateFile.c_str(), static_cast<unsigned long long>(rv));
  } else {
    api.bootstrap();
  }

  kta::ServerOptions so;
  so.port = args.port;
  so.threads = args.threads;
  so.bookmarkInterval = std::chrono::milliseconds(static_cast<long long>(args.bookmarkSeconds * 1000));
  if (so.bookmarkInterval.count() <= 0) so.bookmarkInterval = std::chrono::milliseconds(1000);
  so.verbose = args.verbose;
  if (!args.advertiseAddress.empty()) so.host = "0.0.0.0";
  kta::HttpServer server(api, *tls, token, so);
  auto port = server.bind();
  if (!port) {
    std::fprintf(stderr, "kube-test-apiserver: %s\n", port.error().message.c_str());
    return 1;
  }
  if (!args.advertiseAddress.empty()) api.publishEndpoint(args.advertiseAddress, *port);

  if (!writeFile(dir / "kubeconfig", kubeconfig(*port, tls->caPem, token)) || !writeFile(dir / "ca.crt", tls->caPem) ||
      !writeFile(dir / "ca.key", kta::caKeyPem(*tls)) || !writeFile(dir / "token", token + "\n")) {
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
  std::unique_ptr<kta::PeriodicTask> saver;
  if (!args.stateFile.empty() && args.stateSeconds > 0)
    saver = std::make_unique<kta::PeriodicTask>(
        [&api, &args] {
          if (auto s = kta::saveStateFile(api, args.stateFile); !s)
            std::fprintf(stderr, "kube-test-apiserver: %s\n", s.error().message.c_str());
        },
        std::chrono::milliseconds(static_cast<long long>(args.stateSeconds * 1000)));
  std::thread signalThread([&] {
    for (;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (sig != SIGUSR1) break;
      store.log().endWatches();
      std::fprintf(stderr, "kube-test-apiserver: SIGUSR1: ending open watches\n");
    }
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
  if (saver) saver->stop();
  if (!args.stateFile.empty()) {
    // After run(): every request has finished, so this is the final state.
    if (auto s = kta::saveStateFile(api, args.stateFile); !s) {
      std::fprintf(stderr, "kube-test-apiserver: %s\n", s.error().message.c_str());
      return 1;
    }
    auto [objects, rv] = store.transact([](kta::Store::Txn& t) { return std::pair(t.all().size(), t.currentRv()); });
    std::fprintf(stderr, "kube-test-apiserver: saved %zu objects to %s at resourceVersion %llu\n", objects,
                 args.stateFile.c_str(), static_cast<unsigned long long>(rv));
  }
  return 0;
}
