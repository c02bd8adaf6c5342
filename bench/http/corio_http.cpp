// corio's side of the HTTP client benchmark, as a user writes it: N tasks on one
// ClientSession, each looping
//     auto r = co_await session.get(url); co_await r.read();
// After a warm-up of W seconds it counts the requests completed in the next D seconds, then
// lets every task finish the request it is in and prints one JSON line:
//
//   {"client":"corio","concurrency":N,"seconds":..,"requests":..,"rps":..,"client_cpu":..,
//    "server_cpu":..}
//
// client_cpu: this process's CPU time over the window / the window (1.0: the client was the
// bottleneck); server_cpu: the same for --server-pid PID (the nginx worker), from /proc.
//
//   corio_http --url URL [--concurrency N] [--duration D] [--warmup W] [--server-pid PID]
//              [--ca-file PEM] [--expect BODY]
//
// --ca-file goes to SessionOptions::ca_file (https: nginx's self-signed certificate).
// The first response is checked: status 200 and, with --expect, that exact body.
#include <corio/corio.hpp>
#include <corio/http.hpp>
#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Config {
    std::string url;
    int concurrency = 1;
    double duration = 3.0, warmup = 1.0;
    int server_pid = 0;
    std::string ca_file;
    std::string expect;
};

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double self_cpu() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6 + static_cast<double>(ru.ru_stime.tv_sec) +
           ru.ru_stime.tv_usec / 1e6;
}

// utime + stime of PID in seconds, -1 when unreadable.
double proc_cpu(int pid) {
    if (!pid) return -1;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = s.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream in(s.substr(close + 2));
    std::string field;
    double ut = 0, st = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {  // fields 14 and 15: utime, stime
        if (i == 14) ut = std::atof(field.c_str());
        if (i == 15) st = std::atof(field.c_str());
    }
    return (ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct State {
    bool stop = false;
    std::uint64_t completed = 0;
};

corio::Coro<> worker(corio::http::ClientSession& session, const Config& cfg, State& st) {
    while (!st.stop) {
        auto r = co_await session.get(cfg.url);
        co_await r.read();
        ++st.completed;
    }
}

corio::Coro<> check(corio::http::ClientSession& session, const Config& cfg) {
    auto r = co_await session.get(cfg.url);
    const std::string body = co_await r.read();
    if (r.status() != 200) throw std::runtime_error(fmt::format("{}: status {}", cfg.url, r.status()));
    if (!cfg.expect.empty() && body != cfg.expect)
        throw std::runtime_error(fmt::format("{}: body '{}', expected '{}'", cfg.url, body, cfg.expect));
}

corio::Coro<> bench(Config cfg) {
    corio::http::SessionOptions o;
    o.limit = static_cast<std::size_t>(std::max(100, cfg.concurrency));
    o.ca_file = cfg.ca_file;
    corio::http::ClientSession session(o);
    co_await check(session, cfg);

    State st;
    std::vector<corio::Task<>> tasks;
    tasks.reserve(static_cast<std::size_t>(cfg.concurrency));
    for (int i = 0; i < cfg.concurrency; ++i) tasks.push_back(corio::create_task(worker(session, cfg, st)));

    co_await corio::sleep(std::chrono::duration<double>(cfg.warmup));
    const double t0 = now_s(), c0 = self_cpu(), s0 = proc_cpu(cfg.server_pid);
    const std::uint64_t n0 = st.completed;
    co_await corio::sleep(std::chrono::duration<double>(cfg.duration));
    const double t1 = now_s(), c1 = self_cpu(), s1 = proc_cpu(cfg.server_pid);
    const std::uint64_t n1 = st.completed;
    st.stop = true;
    for (auto& t : tasks) co_await t;
    co_await session.close();

    const double secs = t1 - t0;
    const double server = (s0 >= 0 && s1 >= 0) ? (s1 - s0) / secs : -1;
    fmt::print("{{\"client\":\"corio\",\"concurrency\":{},\"seconds\":{:.4f},\"requests\":{},\"rps\":{:.1f},"
               "\"client_cpu\":{:.3f},\"server_cpu\":{:.3f}}}\n",
               cfg.concurrency, secs, n1 - n0, static_cast<double>(n1 - n0) / secs, (c1 - c0) / secs, server);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    Config cfg;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "corio_http: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--url") cfg.url = next();
        else if (a == "--concurrency") cfg.concurrency = std::atoi(next().c_str());
        else if (a == "--duration") cfg.duration = std::atof(next().c_str());
        else if (a == "--warmup") cfg.warmup = std::atof(next().c_str());
        else if (a == "--server-pid") cfg.server_pid = std::atoi(next().c_str());
        else if (a == "--ca-file") cfg.ca_file = next();
        else if (a == "--expect") cfg.expect = next();
        else {
            std::fprintf(stderr, "corio_http: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (cfg.url.empty() || cfg.concurrency < 1) {
        std::fprintf(stderr, "usage: corio_http --url URL [--concurrency N] [--duration D] [--warmup W] [--server-pid PID] "
                             "[--ca-file PEM] [--expect BODY]\n");
        return 2;
    }
    try {
        corio::run(bench(cfg));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "corio_http: %s\n", e.what());
        return 1;
    }
    return 0;
}
