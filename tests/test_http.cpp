// The HTTP client against a real server: tests/peers/http_server.py (Debian's aiohttp) on
// 127.0.0.1, started once for the test program. Plain http (corio's own streams) and https
// (libcurl, a self-signed certificate made with openssl for the run). Every bad input ends
// in the documented error with a message naming the request; nothing hangs (each test is
// bounded) and nothing leaks (ASan).
#include <catch2/catch.hpp>

#include <corio/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Task;
namespace http = corio::http;
using corio_test::run_test;
using nlohmann::json;

namespace {

bool have_sockets() { return corio_test::backend_name() == "libuv"; }

// The peer server, its ports and the certificate it serves https with.
struct Peer {
    std::unique_ptr<corio_test::ChildProcess> process;
    int port = 0;
    int tls_port = 0;
    std::string cert;
    std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }
    std::string tls_base() const { return "https://127.0.0.1:" + std::to_string(tls_port); }
};

std::string python_with_aiohttp() {
    // Debian's python3 has python3-aiohttp; a pyenv python3 first on PATH may not.
    return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

Peer& peer() {
    static Peer p = [] {
        Peer q;
        const auto dir = std::filesystem::temp_directory_path() / ("corio-http-test-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        q.cert = (dir / "cert.pem").string();
        const std::string key = (dir / "key.pem").string();
        {
            corio_test::ChildProcess openssl({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                                              q.cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                                              "subjectAltName=IP:127.0.0.1,DNS:localhost"});
            openssl.read_all();
            if (openssl.wait() != 0) throw std::runtime_error("openssl could not make the test certificate");
        }
        q.process = std::make_unique<corio_test::ChildProcess>(std::vector<std::string>{
            python_with_aiohttp(), std::string(CORIO_TEST_SOURCE_DIR) + "/peers/http_server.py", "--tls", q.cert, key});
        const std::string a = q.process->read_line();
        const std::string b = q.process->read_line();
        if (a.rfind("PORT ", 0) != 0 || b.rfind("TLSPORT ", 0) != 0)
            throw std::runtime_error("the aiohttp test server did not start: '" + a + "' '" + b + "'");
        q.port = std::stoi(a.substr(5));
        q.tls_port = std::stoi(b.substr(8));
        return q;
    }();
    return p;
}

std::string url(const std::string& path) { return peer().base() + path; }

Coro<json> get_json(http::ClientSession& s, std::string u) {
    http::Response r = co_await s.get(std::move(u));
    co_return co_await r.json();
}

Coro<json> stats(http::ClientSession& s) { co_return co_await get_json(s, url("/stats")); }
Coro<> reset_stats(http::ClientSession& s) { (void)co_await get_json(s, url("/stats/reset")); }

}  // namespace

TEST_CASE("http: GET, POST, PUT, DELETE with params, headers, JSON and bytes echoed back", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        corio_test::LoopWatchdog dog(20s);
        http::SessionOptions so;
        so.headers.add("X-Session", "default");
        so.headers.add("X-Replaced", "session");
        http::ClientSession session(so);

        http::RequestOptions ro;
        ro.params = {{"a", "1"}, {"b", "x y&z"}, {"a", "2"}};
        ro.headers.add("x-replaced", "request");  // replaces the session's, whatever the case
        http::Response r = co_await session.get(url("/echo"), ro);
        CHECK(r.status() == 200);
        CHECK(r.reason() == "OK");
        CHECK(r.ok());
        CHECK(r.headers().get("content-type").value_or("").rfind("application/json", 0) == 0);
        const json e = co_await r.json();
        CHECK(e["method"] == "GET");
        CHECK(e["query"] == json::array({{"a", "1"}, {"b", "x y&z"}, {"a", "2"}}));
        CHECK(e["headers"]["X-Session"] == "default");
        CHECK(e["headers"]["x-replaced"] == "request");  // as aiohttp: the request's spelling wins
        CHECK_FALSE(e["headers"].contains("X-Replaced"));
        CHECK(e["headers"].contains("Host"));

        http::RequestOptions post;
        post.json = json{{"k", 1}, {"list", {1, 2}}};
        const json p = co_await (co_await session.post(url("/echo"), post)).json();
        CHECK(p["method"] == "POST");
        CHECK(json::parse(p["body"].get<std::string>()) == *post.json);
        CHECK(p["headers"]["Content-Type"] == "application/json");

        http::RequestOptions put;
        put.data = std::string("raw\0bytes", 9);
        const json q = co_await (co_await session.put(url("/echo"), put)).json();
        CHECK(q["method"] == "PUT");
        CHECK(q["body"] == std::string("raw\0bytes", 9));
        CHECK(q["headers"]["Content-Type"] == "application/octet-stream");

        const json d = co_await (co_await session.delete_(url("/echo"))).json();
        CHECK(d["method"] == "DELETE");
        http::Response h = co_await session.head(url("/echo"));
        CHECK(h.status() == 200);
        CHECK((co_await h.read()).empty());
        http::Response o = co_await session.options(url("/echo"));
        CHECK(o.status() == 200);
        co_await o.read();
        const json pa = co_await (co_await session.patch(url("/echo"))).json();
        CHECK(pa["method"] == "PATCH");
        CHECK((co_await session.request("get", url("/json"))).status() == 200);  // any case

        http::RequestOptions both;
        both.json = json(1);
        both.data = "x";
        CHECK_THROWS_AS(co_await session.post(url("/echo"), both), corio::ValueError);
        CHECK_FALSE(dog.fired());
    }());
}

TEST_CASE("http: base_url, status codes and raise_for_status", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::SessionOptions so;
        so.base_url = peer().base();
        http::ClientSession session(so);
        http::Response r = co_await session.get("/status/404");
        CHECK(r.status() == 404);
        CHECK(r.reason() == "Not Found");
        CHECK_FALSE(r.ok());
        int status = 0;
        std::string what, message;
        try {
            r.raise_for_status();
        } catch (const http::ClientResponseError& e) {
            status = e.status();
            what = e.what();
            message = e.message();
        }
        CHECK(status == 404);
        CHECK(message == "Not Found");
        CHECK_THAT(what, Catch::Contains("/status/404"));
        http::RequestOptions ro;
        ro.raise_for_status = true;
        CHECK_THROWS_AS(co_await session.get("/status/503", ro), http::ClientResponseError);
        http::Response ok = co_await session.get("/status/204", ro);
        CHECK(ok.status() == 204);

        http::SessionOptions strict;
        strict.raise_for_status = true;
        http::ClientSession s2(strict);
        CHECK_THROWS_AS(co_await s2.get(url("/status/500")), http::ClientResponseError);
    }());
}

TEST_CASE("http: redirects: a chain, a loop, 303 after POST, 307 keeps the body, Authorization across origins",
          "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::ClientSession session;
        http::Response r = co_await session.get(url("/redirect/3"));
        CHECK(r.status() == 200);
        CHECK(r.url() == url("/echo"));
        REQUIRE(r.history().size() == 3);
        CHECK(r.history()[0].status == 302);
        CHECK(r.history()[0].url == url("/redirect/3"));
        co_await r.read();

        std::string what;
        try {
            co_await session.get(url("/loop"));
        } catch (const http::TooManyRedirects& e) {
            what = e.what();
        }
        CHECK_THAT(what, Catch::Contains("10 redirects"));
        http::RequestOptions few;
        few.max_redirects = 2;
        CHECK_THROWS_AS(co_await session.get(url("/redirect/3"), few), http::TooManyRedirects);
        http::RequestOptions none;
        none.allow_redirects = false;
        http::Response first = co_await session.get(url("/redirect/3"), none);
        CHECK(first.status() == 302);
        CHECK(first.headers().get("Location").has_value());

        http::RequestOptions post;
        post.data = "payload";
        const json after303 = co_await (co_await session.post(url("/redirect/1?code=303"), post)).json();
        CHECK(after303["method"] == "GET");
        CHECK(after303["body"] == "");
        const json after307 = co_await (co_await session.post(url("/redirect/1?code=307"), post)).json();
        CHECK(after307["method"] == "POST");
        CHECK(after307["body"] == "payload");

        http::RequestOptions auth;
        auth.headers.add("Authorization", "Bearer secret");
        auth.params = {{"url", url("/echo")}};
        const json same = co_await (co_await session.get(url("/redirect-to"), auth)).json();
        CHECK(same["headers"]["Authorization"] == "Bearer secret");  // same origin: kept
        auth.params = {{"url", "http://localhost:" + std::to_string(peer().port) + "/echo"}};
        const json other = co_await (co_await session.get(url("/redirect-to"), auth)).json();
        CHECK_FALSE(other["headers"].contains("Authorization"));  // another origin: dropped

        http::RequestOptions ftp;
        ftp.params = {{"url", "ftp://127.0.0.1/file"}};
        CHECK_THROWS_AS(co_await session.get(url("/redirect-to"), ftp), http::InvalidURL);
    }());
}

TEST_CASE("http: keep-alive reuses one connection; a stale one is retried once when idempotent", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::ClientSession session;
        co_await reset_stats(session);
        for (int i = 0; i < 10; ++i) {
            http::Response r = co_await session.get(url("/json"));
            co_await r.read();
        }
        CHECK((co_await stats(session))["connections"] == 0);  // the reset's connection served them all

        http::ClientSession fresh;
        co_await reset_stats(fresh);
        CHECK(co_await (co_await fresh.get(url("/once"))).text() == "once");
        // The same connection again: the server closes it without answering. Retried.
        CHECK(co_await (co_await fresh.get(url("/once"))).text() == "once");
        CHECK((co_await stats(fresh))["connections"] == 1);  // the retry's new connection
        // Not for a POST: that could do harm twice. The retry's connection has served once.
        http::RequestOptions post;
        post.data = "x";
        CHECK_THROWS_AS(co_await fresh.post(url("/once"), post), http::ServerDisconnectedError);
        CHECK(co_await (co_await fresh.post(url("/once"), post)).text() == "once");  // a new connection
    }());
}

TEST_CASE("http: limit and limit_per_host bound the requests the server sees at once", "[http]") {
    if (!have_sockets()) return;
    for (const bool per_host : {false, true}) {
        INFO((per_host ? "limit_per_host = 2" : "limit = 3"));
        run_test([per_host]() -> Coro<> {
            http::SessionOptions so;
            if (per_host)
                so.limit_per_host = 2;
            else
                so.limit = 3;
            http::ClientSession session(so);
            co_await reset_stats(session);
            std::vector<Coro<>> batch;
            for (int i = 0; i < 10; ++i)
                batch.push_back([](http::ClientSession& s) -> Coro<> {
                    http::Response r = co_await s.get(url("/hold?delay=0.1"));
                    co_await r.read();
                }(session));
            co_await corio::gather(std::move(batch));
            http::ClientSession probe;
            CHECK((co_await stats(probe))["max_in_flight"] == (per_host ? 2 : 3));
        }());
    }
}

TEST_CASE("http: a request waiting for the limit does not spend its connect timeout", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::SessionOptions so;
        so.limit = 1;
        so.timeout.connect = 100ms;
        http::ClientSession session(so);
        auto first = corio::create_task([&]() -> Coro<int> {
            http::Response r = co_await session.get(url("/hold?delay=0.3"));
            co_await r.read();
            co_return r.status();
        });
        co_await corio::sleep(20ms);
        // Waits ~0.3 s for the one connection, far past the 100 ms connect timeout.
        http::Response r = co_await session.get(url("/json"));
        CHECK(r.status() == 200);
        CHECK(co_await first == 200);
    }());
}

TEST_CASE("http: gzip and deflate bodies are decoded", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::ClientSession session;
        CHECK((co_await get_json(session, url("/gzip")))["compressed"] == true);
        CHECK((co_await get_json(session, url("/deflate")))["deflated"] == true);
        http::Response big = co_await session.get(url("/bytes/300000"));
        const std::string b = co_await big.read();
        REQUIRE(b.size() == 300000);
        CHECK(static_cast<unsigned char>(b[299999]) == 299999 % 251);
        CHECK(co_await big.read() == b);  // a second read gives it again
    }());
}

TEST_CASE("http: bad input: refused port, a name that does not resolve, invalid URLs, other schemes", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::ClientSession session;
        std::string what, host;
        int port = 0;
        try {
            co_await session.get("http://127.0.0.1:9/x");
        } catch (const http::ClientConnectorError& e) {
            what = e.what();
            host = e.host();
            port = e.port();
        }
        CHECK(what == "GET http://127.0.0.1:9/x: cannot connect to 127.0.0.1:9: connect to 127.0.0.1:9: Connection refused");
        CHECK(host == "127.0.0.1");
        CHECK(port == 9);
        what.clear();
        try {
            co_await session.get("http://nonexistent.invalid/");
        } catch (const http::ClientConnectorError& e) {
            what = e.what();
        }
        CHECK_THAT(what, Catch::Contains("nonexistent.invalid") && Catch::Contains("getaddrinfo"));
        for (const char* bad : {"not a url", "http://", "http://host:99999/", "http://exa mple.com/", "/relative"}) {
            INFO(bad);
            CHECK_THROWS_AS(co_await session.get(bad), http::InvalidURL);
        }
        CHECK_THROWS_WITH(co_await session.get("ftp://127.0.0.1/file"), Catch::Contains("is not http or https"));
        CHECK_THROWS_WITH(co_await session.get("file:///etc/passwd"), Catch::Contains("is not http or https"));
    }());
}

TEST_CASE("http: a body cut short, reset mid-way, and bodies that are not JSON", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::ClientSession session;
        http::Response t = co_await session.get(url("/truncated"));
        CHECK_THROWS_WITH(co_await t.read(), Catch::Contains("cut short (10 of 100 bytes)"));
        http::Response r = co_await session.get(url("/reset"));
        CHECK_THROWS_AS(co_await r.read(), http::ClientPayloadError);
        http::Response text = co_await session.get(url("/text"));
        std::string what;
        try {
            co_await text.json();
        } catch (const http::ContentTypeError& e) {
            what = e.what();
        }
        CHECK_THAT(what, Catch::Contains("unexpected mimetype: text/plain"));
        http::Response bad = co_await session.get(url("/badjson"));
        CHECK_THROWS_AS(co_await bad.json(), http::ClientPayloadError);
        // The session goes on after all that.
        CHECK((co_await get_json(session, url("/json")))["n"] == 42);
    }());
}

TEST_CASE("http: sock_read and total timeouts against a slow server", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::ClientSession session;
        http::RequestOptions slow;
        http::ClientTimeout t;
        t.sock_read = 200ms;
        slow.timeout = t;
        std::string what;
        try {
            co_await session.get(url("/slow-headers?delay=2"), slow);
        } catch (const http::ServerTimeoutError& e) {
            what = e.what();
        }
        CHECK_THAT(what, Catch::Contains("sock_read timeout"));
        http::Response body = co_await session.get(url("/slow-body?delay=2"), slow);
        CHECK_THROWS_AS(co_await body.read(), http::ServerTimeoutError);
        // A drip faster than sock_read is fine: the limit is per wait, not per body.
        http::Response drip = co_await session.get(url("/drip?n=5&delay=0.05"), slow);
        CHECK((co_await drip.read()).size() == 5);

        http::RequestOptions total;
        http::ClientTimeout tt;
        tt.total = 300ms;
        total.timeout = tt;
        what.clear();
        try {
            co_await session.get(url("/slow-headers?delay=2"), total);
        } catch (const corio::TimeoutError& e) {
            what = e.what();
        }
        CHECK_THAT(what, Catch::Contains("total timeout"));
        // The total covers the body too.
        http::Response late = co_await session.get(url("/slow-body?delay=2"), total);
        CHECK_THROWS_AS(co_await late.read(), corio::TimeoutError);
    }());
}

TEST_CASE("http: cancelling mid-body leaves the connection unused; closing the session fails what is in flight",
          "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::ClientSession session;
        co_await reset_stats(session);
        http::Response r = co_await session.get(url("/slow-body?delay=5"));
        auto reading = corio::create_task(r.read());
        co_await corio::sleep(50ms);
        reading.cancel();
        CHECK(co_await corio_test::ended_cancelled(reading));
        CHECK((co_await get_json(session, url("/json")))["n"] == 42);
        CHECK((co_await stats(session))["connections"] == 1);  // a new one: the cancelled one was not reused

        auto s2 = std::make_unique<http::ClientSession>();
        auto in_flight = corio::create_task([&]() -> Coro<std::string> {
            http::Response x = co_await s2->get(url("/slow-headers?delay=5"));
            co_return co_await x.text();
        });
        co_await corio::sleep(100ms);
        co_await s2->close();
        CHECK_THROWS_AS(co_await in_flight, http::ClientConnectionError);
        CHECK_THROWS_WITH(co_await s2->get(url("/json")), "Session is closed");
        s2.reset();
    }());
}

TEST_CASE("http: async_with closes the session; the destructor closes it too", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::ClientSession session;
        co_await corio::async_with(session, [](http::ClientSession& s) -> Coro<> {
            CHECK((co_await get_json(s, url("/json")))["hello"] == "world");
        });
        CHECK(session.closed());
        CHECK_THROWS_AS(co_await session.get(url("/json")), corio::RuntimeError);
    }());
}

TEST_CASE("https: a local TLS server with a self-signed certificate and a CA option", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        {
            http::ClientSession session;  // the system's CAs do not know it
            std::string what;
            try {
                co_await session.get(peer().tls_base() + "/json");
            } catch (const http::ClientConnectorError& e) {
                what = e.what();
            }
            CHECK_THAT(what, Catch::Contains("certificate"));
        }
        http::SessionOptions so;
        so.ca_file = peer().cert;
        http::ClientSession session(so);
        CHECK((co_await get_json(session, peer().tls_base() + "/json"))["n"] == 42);
        CHECK((co_await get_json(session, peer().tls_base() + "/gzip"))["compressed"] == true);
        http::RequestOptions post;
        post.json = json{{"secure", true}};
        const json e = co_await (co_await session.post(peer().tls_base() + "/echo", post)).json();
        CHECK(json::parse(e["body"].get<std::string>())["secure"] == true);
        http::Response red = co_await session.get(peer().tls_base() + "/redirect/2");
        CHECK(red.history().size() == 2);
        CHECK(red.url() == peer().tls_base() + "/echo");
        co_await red.read();
        http::Response t = co_await session.get(peer().tls_base() + "/truncated");
        CHECK_THROWS_AS(co_await t.read(), http::ClientPayloadError);
        http::SessionOptions insecure;
        insecure.verify_ssl = false;
        http::ClientSession s3(insecure);
        CHECK((co_await get_json(s3, peer().tls_base() + "/json"))["n"] == 42);
    }());
}

TEST_CASE("http: the seed's crawler shape: 50 URLs, Semaphore(10), wait_for", "[http]") {
    if (!have_sockets()) return;
    run_test([]() -> Coro<> {
        http::ClientSession session;
        corio::Semaphore sem(10);
        int running = 0, most = 0;
        std::vector<Coro<int>> fetches;
        // A coroutine lambda must not capture: its closure dies before the coroutine runs.
        auto fetch = [](http::ClientSession& s, corio::Semaphore& sem, int& running, int& most, int i) -> Coro<int> {
            auto permit = co_await sem.acquire();
            most = std::max(most, ++running);
            http::Response r = co_await corio::wait_for(s.get(url("/hold?delay=0.02&i=" + std::to_string(i))), 5s);
            co_await r.read();
            --running;
            co_return r.status();
        };
        for (int i = 0; i < 50; ++i) fetches.push_back(fetch(session, sem, running, most, i));
        std::vector<int> statuses = co_await corio::gather(std::move(fetches));
        CHECK(statuses == std::vector<int>(50, 200));
        CHECK(most == 10);
    }());
}
