#include "exec.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <array>
#include <deque>
#include <optional>

#include "process.h"
#include "upgrade.h"

namespace kubelet {

using nlohmann::json;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

constexpr char kStdin = 0, kStdout = 1, kStderr = 2, kError = 3;
constexpr unsigned char kCloseStream = 255;  // v5: [255, channel] closes that channel
constexpr auto kPoll = std::chrono::milliseconds(200);

std::string goList(const std::vector<std::string>& items) {  // fmt %v of a Go []string
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? " " : "") + items[i];
  return out + "]";
}

// The session's state; every handler runs on the one thread in run(), so nothing is locked.
class Session {
 public:
  Session(int fd, const ExecSession& s) : s_(s), ws_(ioc_), out_(ioc_), err_(ioc_), exitTimer_(ioc_), watchTimer_(ioc_) {
    beast::get_lowest_layer(ws_).assign(asio::ip::tcp::v4(), ::dup(fd));
  }

  void run() {
    if (!accept()) return;
    auto child = spawnPiped(s_.argv, s_.env, s_.withStdin);
    if (!child.ok()) {
      json failure = {{"metadata", json::object()}, {"status", "Failure"}, {"message", child.status().message()},
                      {"reason", "InternalError"}, {"code", 500}};
      send(kError, failure.dump(), [this] { close(); });
      ioc_.run();
      return;
    }
    pid_ = child->pid;
    out_.assign(child->out);
    err_.assign(child->err);
    if (child->in >= 0) in_.emplace(ioc_, child->in);
    readClient();
    readOutput(out_, kStdout, outBuf_, s_.withStdout);
    readOutput(err_, kStderr, errBuf_, s_.withStderr);
    watch();
    ioc_.run();
  }

 private:
  bool accept() { return acceptWebSocket(ws_, s_.target, s_.headers, s_.protocol); }

  // Client messages: stdin data, v5's close of stdin; resize and unknown channels are dropped.
  void readClient() {
    ws_.async_read(readBuf_, [this](beast::error_code ec, size_t) {
      if (ec) return clientGone();
      std::string msg = beast::buffers_to_string(readBuf_.data());
      readBuf_.consume(readBuf_.size());
      if (msg.size() >= 2 && static_cast<unsigned char>(msg[0]) == kCloseStream && msg[1] == kStdin) {
        in_.reset();  // EOF for the command
      } else if (msg.size() > 1 && msg[0] == kStdin && in_) {
        stdinBuf_ = msg.substr(1);
        // The next message is read once this one is in the pipe (backpressure to the client).
        return asio::async_write(*in_, asio::buffer(stdinBuf_), [this](beast::error_code wec, size_t) {
          if (wec) in_.reset();  // the command closed its stdin: drop what follows
          readClient();
        });
      }
      readClient();
    });
  }

  // Output of the command, passed on as it comes; the next read waits for the send (backpressure).
  void readOutput(asio::posix::stream_descriptor& from, char channel, std::array<char, 32768>& buf, bool wanted) {
    from.async_read_some(asio::buffer(buf), [this, &from, channel, &buf, wanted](beast::error_code ec, size_t n) {
      if (ec) return outputEnded();
      auto next = [this, &from, channel, &buf, wanted] { readOutput(from, channel, buf, wanted); };
      if (!wanted || gone_) return next();
      send(channel, std::string(buf.data(), n), next);
    });
  }

  void send(char channel, std::string data, std::function<void()> then) {
    queue_.emplace_back(std::string(1, channel) + data, std::move(then));
    if (!writing_) writeNext();
  }

  void writeNext() {
    if (queue_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    ws_.async_write(asio::buffer(queue_.front().first), [this](beast::error_code ec, size_t) {
      auto then = std::move(queue_.front().second);
      queue_.pop_front();
      if (ec) clientGone();
      if (then) then();
      writeNext();
    });
  }

  void outputEnded() {
    if (--openOutputs_ == 0) awaitExit();
  }

  // Both outputs are closed: wait for the command itself, then report its exit status.
  void awaitExit() {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) {
      exitTimer_.expires_after(std::chrono::milliseconds(20));
      exitTimer_.async_wait([this](beast::error_code) { awaitExit(); });
      return;
    }
    signalGroup(pid_, SIGKILL);  // whatever the command left behind in its group
    pid_ = -1;
    watchTimer_.cancel();
    if (gone_) return;
    send(kError, execExitStatus(s_.command, exitCodeOf(status)).dump(), [this] { close(); });
  }

  void close() {
    closing_ = true;
    ws_.async_close(websocket::close_code::normal, [](beast::error_code) {});
  }

  // Kills the command when the container stops while it runs.
  void watch() {
    if (pid_ < 0) return;
    if (s_.containerRunning && !s_.containerRunning()) signalGroup(pid_, SIGKILL);
    watchTimer_.expires_after(kPoll);
    watchTimer_.async_wait([this](beast::error_code) { watch(); });
  }

  // The client left (or the connection failed): the command is killed, its outputs end, and
  // awaitExit reaps it without reporting.
  void clientGone() {
    if (closing_ || gone_) return;
    gone_ = true;
    if (pid_ > 0) signalGroup(pid_, SIGKILL);
    in_.reset();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
  }

  const ExecSession& s_;
  asio::io_context ioc_;
  websocket::stream<asio::ip::tcp::socket> ws_;
  asio::posix::stream_descriptor out_, err_;
  std::optional<asio::posix::stream_descriptor> in_;
  asio::steady_timer exitTimer_, watchTimer_;
  beast::flat_buffer readBuf_;
  std::string stdinBuf_;
  std::array<char, 32768> outBuf_{}, errBuf_{};
  std::deque<std::pair<std::string, std::function<void()>>> queue_;  // messages to the client, in order
  bool writing_ = false;
  int openOutputs_ = 2;
  pid_t pid_ = -1;
  bool gone_ = false;
  bool closing_ = false;
};

}  // namespace

std::string chooseExecProtocol(const std::string& offered) {
  const std::vector<std::string> offers = offeredProtocols(offered);
  for (const char* wanted : {"v5.channel.k8s.io", "v4.channel.k8s.io"}) {
    for (const auto& o : offers) {
      if (o == wanted) return o;
    }
  }
  return "";
}

json execExitStatus(const std::vector<std::string>& command, int exitCode) {
  if (exitCode == 0) return {{"metadata", json::object()}, {"status", "Success"}};
  const std::string code = std::to_string(exitCode);
  return {{"metadata", json::object()},
          {"status", "Failure"},
          {"message", "command terminated with non-zero exit code: error executing command " + goList(command) +
                          ", exit code " + code},
          {"reason", "NonZeroExitCode"},
          {"details", {{"causes", json::array({{{"reason", "ExitCode"}, {"message", code}}})}}}};
}

void serveExec(int fd, const ExecSession& session) { Session(fd, session).run(); }

}  // namespace kubelet
