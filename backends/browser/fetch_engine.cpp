// corio::http over the JS fetch(): one fetch per request, its body read whole with the
// headers, its completion queued in JS and handed over in drain_fetches(). What fetch
// cannot do is documented in the README ("HTTP client", wasm): no connection limit of its
// own (the session's limit still bounds requests in flight), no Host header, connect and
// sock_read timeouts not applied (fetch has no such phases), redirects followed by fetch in
// a page (by corio under Node, with redirect: 'manual'), and what a network error says is
// what the engine says ("fetch failed: connect ECONNREFUSED 127.0.0.1:9" in Node,
// "Failed to fetch" in a page).
#include "fetch_engine.hpp"

#include <emscripten.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "corio/http/errors.hpp"
#include "corio/waker.hpp"

namespace {

EM_JS(void, corio_fetch_setup, (), {
    if (Module.corioFetch) return;
    var enc = new TextEncoder();
    var F = { live: new Map(), done: [], cur: null };
    // (No backslash escapes in EM_JS: the C++ string literal would turn them into newlines.)
    var LF = String.fromCharCode(10);
    var CRLF = String.fromCharCode(13, 10);
    // In the library build the pump runs at once (this is a promise callback: no C++ is on
    // the stack, and the pump refuses if the loop runs); the program build ends its sleep.
    F.wake = function() {
        if (Module.corioPump) Module.corioPump.now();
        else if (Module.corio && Module.corio.wake) Module.corio.wake();
    };
    F.finish = function(id, r) {
        if (!F.live.has(id)) return;  // aborted meanwhile
        F.live.delete(id);
        F.done.push([id, r]);
        F.wake();
    };
    var describe = function(e) {
        var m;
        try {
            m = (e && e.message) ? String(e.message) : String(e);
            if (e && e.cause) m += ': ' + (e.cause.message ? String(e.cause.message) : String(e.cause));
        } catch (x) { m = 'fetch failed'; }
        return m;
    };
    var failed = function(id, kind, e) { F.finish(id, { status: -1, kind: kind, error: enc.encode(describe(e)) }); };
    // A page's fetch() cannot hand back a redirect unfollowed (an opaque response); Node's can.
    var inPage = typeof window === 'object' || typeof importScripts === 'function';
    F.start = function(id, method, url, headerLines, body) {
        F.live.set(id, null);
        if (typeof fetch !== 'function') { failed(id, 1, 'fetch() is not available here'); return; }
        var headers = [];
        var lines = headerLines.split(LF);
        for (var i = 0; i + 1 < lines.length; i += 2) headers.push([lines[i], lines[i + 1]]);
        var ac = new AbortController();
        F.live.set(id, ac);
        var init = { method: method, headers: headers, redirect: inPage ? 'follow' : 'manual', signal: ac.signal };
        if (body !== null) init.body = body;
        var p;
        try { p = fetch(url, init); } catch (e) { p = Promise.reject(e); }
        p.then(function(res) {
            return res.arrayBuffer().then(function(buf) {
                var h = '';
                res.headers.forEach(function(v, k) { h += k + ': ' + v + CRLF; });
                F.finish(id, { status: res.type === 'opaqueredirect' ? 0 : res.status, kind: 0,
                               reason: enc.encode(res.statusText || ''), headers: enc.encode(h),
                               url: enc.encode(res.url || ''), body: new Uint8Array(buf) });
            }, function(e) { failed(id, 2, e); });
        }, function(e) { failed(id, 0, e); });
    };
    F.abort = function(id) {
        var ac = F.live.get(id);
        F.live.delete(id);
        if (ac) ac.abort();
    };
    Module.corioFetch = F;
});

EM_JS(void, corio_fetch_start,
      (int id, const char* method, const char* url, const char* headers, int headers_len, const char* body, int body_len,
       int has_body),
      {
          Module.corioFetch.start(id, UTF8ToString(method), UTF8ToString(url), UTF8ToString(headers, headers_len),
                                  has_body ? HEAPU8.slice(body, body + body_len) : null);
      });
EM_JS(void, corio_fetch_abort, (int id), { Module.corioFetch.abort(id); });
// The next finished fetch becomes the current one: its id, or 0 when none is left.
EM_JS(int, corio_fetch_next, (), {
    var F = Module.corioFetch;
    if (!F || F.done.length === 0) return 0;
    var d = F.done.shift();
    F.cur = d[1];
    return d[0];
});
EM_JS(int, corio_fetch_status, (), { return Module.corioFetch.cur.status; });
EM_JS(int, corio_fetch_kind, (), { return Module.corioFetch.cur.kind; });
// Fields of the current one: 0 reason, 1 headers, 2 url, 3 body, 4 error (bytes).
EM_JS(int, corio_fetch_len, (int which), {
    var c = Module.corioFetch.cur;
    var f = [c.reason, c.headers, c.url, c.body, c.error][which];
    return f ? f.length : 0;
});
EM_JS(void, corio_fetch_copy, (int which, char* dst), {
    var c = Module.corioFetch.cur;
    var f = [c.reason, c.headers, c.url, c.body, c.error][which];
    if (f) HEAPU8.set(f, dst);
});

struct FetchResult {
    int status = 0;  // -1: no response (kind: 0 network, 1 no fetch(), 2 the body failed)
    int kind = 0;
    std::string reason, headers, url, body, error;
};

std::unordered_map<int, corio::Waker<FetchResult>>& waiting() {
    static std::unordered_map<int, corio::Waker<FetchResult>> m;
    return m;
}
int next_id() {
    static int id = 0;
    return ++id;
}

std::string field(int which) {
    std::string s(static_cast<std::size_t>(corio_fetch_len(which)), '\0');
    if (!s.empty()) corio_fetch_copy(which, s.data());
    return s;
}

// Headers a fetch() sets itself or refuses (forbidden names, connection-level fields).
bool fetch_sets(const std::string& name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    static const std::unordered_set<std::string> skipped = {"host", "content-length", "connection", "keep-alive",
                                                            "transfer-encoding", "upgrade", "accept-encoding", "te",
                                                            "trailer", "expect", "proxy-connection"};
    return skipped.count(n) != 0;
}

class WholeBody final : public corio::http::detail::Body {
public:
    explicit WholeBody(std::string data) : data_(std::move(data)) {}
    corio::Coro<std::string> read_all() override { co_return std::move(data_); }
    void discard() noexcept override {}

private:
    std::string data_;
};

class FetchEngine final : public corio::http::detail::Engine {
public:
    FetchEngine() { corio_fetch_setup(); }
    ~FetchEngine() override { close(); }

    corio::Coro<corio::http::detail::EngineResponse> send(corio::http::detail::EngineRequest req) override;
    void close() noexcept override;

private:
    std::unordered_set<int> in_flight_;
};

corio::Coro<corio::http::detail::EngineResponse> FetchEngine::send(corio::http::detail::EngineRequest req) {
    using namespace corio::http;
    const std::string what = req.describe();
    const std::string url = req.url.to_string();
    std::string lines;  // name \n value \n ...
    for (const auto& [name, value] : req.headers) {
        if (fetch_sets(name)) continue;
        lines += name + '\n' + value + '\n';
    }
    const bool has_body = !req.body.empty() || (req.method != "GET" && req.method != "HEAD");
    const int id = next_id();
    in_flight_.insert(id);
    FetchResult r = co_await corio::suspend<FetchResult>(
        [&](corio::Waker<FetchResult> w) {
            waiting().emplace(id, std::move(w));
            corio_fetch_start(id, req.method.c_str(), url.c_str(), lines.data(), static_cast<int>(lines.size()),
                              req.body.data(), static_cast<int>(req.body.size()), has_body ? 1 : 0);
        },
        [&] {  // cancelled (the total timeout, or the task): the fetch is aborted
            waiting().erase(id);
            in_flight_.erase(id);
            corio_fetch_abort(id);
        });
    in_flight_.erase(id);
    if (r.status < 0) {
        if (r.kind == 2) throw ClientPayloadError(fmt::format("{}: the body could not be read: {}", what, r.error));
        throw ClientConnectorError(fmt::format("{}: {}", what, r.error), req.url.host, req.url.port);
    }
    if (r.status == 0)
        throw ClientConnectorError(fmt::format("{}: a redirect that the page's fetch() did not follow (it cannot give it "
                                               "back: allow_redirects=false does not work in a page)",
                                               what),
                                   req.url.host, req.url.port);
    detail::EngineResponse out;
    out.status = r.status;
    out.reason = std::move(r.reason);
    for (std::size_t pos = 0; pos < r.headers.size();) {
        const std::size_t end = r.headers.find("\r\n", pos);
        const std::string line = r.headers.substr(pos, end - pos);
        pos = end == std::string::npos ? r.headers.size() : end + 2;
        const std::size_t colon = line.find(": ");
        if (colon != std::string::npos) out.headers.add(line.substr(0, colon), line.substr(colon + 2));
    }
    if (!r.url.empty() && r.url != url) out.final_url = std::move(r.url);
    out.body = std::make_unique<WholeBody>(std::move(r.body));
    co_return out;
}

void FetchEngine::close() noexcept {
    for (int id : in_flight_) {
        auto it = waiting().find(id);
        if (it == waiting().end()) continue;
        corio::Waker<FetchResult> w = std::move(it->second);
        waiting().erase(it);
        corio_fetch_abort(id);
        w.set_exception(std::make_exception_ptr(
            corio::http::ClientConnectionError("the session was closed while this request was in flight")));
    }
    in_flight_.clear();
}

}  // namespace

namespace corio::backends::browser_detail {

std::unique_ptr<http::detail::Engine> make_fetch_engine(const http::SessionOptions&) {
    return std::make_unique<FetchEngine>();
}

bool drain_fetches() noexcept {
    bool any = false;
    try {
        while (const int id = corio_fetch_next()) {
            auto it = waiting().find(id);
            if (it == waiting().end()) continue;  // its task was cancelled
            FetchResult r;
            r.status = corio_fetch_status();
            r.kind = corio_fetch_kind();
            r.reason = field(0);
            r.headers = field(1);
            r.url = field(2);
            r.body = field(3);
            r.error = field(4);
            corio::Waker<FetchResult> w = std::move(it->second);
            waiting().erase(it);
            w.set_result(std::move(r));
            any = true;
        }
    } catch (...) {
        // Out of memory while copying a body: the waiter stays and fails with the session.
    }
    return any;
}

}  // namespace corio::backends::browser_detail
