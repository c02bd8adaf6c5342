// The Promise bridge both ways, for corio's JavaScript library build: exported coroutines
// run as tasks on the loop JS drives and settle a Promise; JS Promises awaited in C++
// complete a corio::Waker. Every entry from JS (a call, a settlement, an abort) ends by
// arming the pump. C++ exceptions never cross into JS: each becomes a rejected Error.
#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <fmt/format.h>

#include <cxxabi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <variant>
#include <vector>

#include "corio/js.hpp"

using emscripten::val;

namespace corio::detail {
EventLoop& js_loop();  // backends/browser/js_pump_backend.cpp
}

namespace corio::js {

namespace {

// The JS half, installed once on the module: promise plumbing the C++ side calls through val.
EM_JS(void, corio_js_bridge_setup, (), {
    if (Module.corioBridge) return;
    var keepAlive = null;
    Module.corioBridge = {
        deferred: function() {
            var d = {};
            d.promise = new Promise(function(resolve, reject) { d.resolve = resolve; d.reject = reject; });
            return d;
        },
        // Settles C++'s waker `id` when `p` settles (any value or thenable, as `await` takes).
        then: function(p, id) {
            Promise.resolve(p).then(function(v) { Module.__corio_settle(id, true, v); },
                                    function(e) { Module.__corio_settle(id, false, e); });
        },
        listen: function(signal, id) {
            var f = function() { Module.__corio_abort(id); };
            signal.addEventListener('abort', f, { once: true });
            return f;
        },
        unlisten: function(signal, f) { signal.removeEventListener('abort', f); },
        error: function(name, message) {
            var e = name === 'TypeError' ? new TypeError(message) : new Error(message);
            if (name !== 'TypeError' && name !== 'Error') e.name = name;
            return e;
        },
        iterator: function(id) {
            var it = {
                next: function() { return Module.__corio_gen_next(id); },
                return: function(v) { return Module.__corio_gen_return(id, v); },
            };
            it[Symbol.asyncIterator] = function() { return it; };
            return it;
        },
        describe: function(reason) {
            if (reason instanceof Error) return reason.name + ': ' + reason.message;
            try { return String(reason); } catch (e) { return Object.prototype.toString.call(reason); }
        },
        // While any call is in flight Node stays alive, as a pending setTimeout keeps it.
        keepAlive: function(on) {
            if (on && keepAlive === null) keepAlive = setInterval(function() {}, 1 << 30);
            if (!on && keepAlive !== null) { clearInterval(keepAlive); keepAlive = null; }
        },
    };
});

EM_JS(void, corio_js_pump_soon_from_bridge, (), { if (Module.corioPump) Module.corioPump.soon(); });

val bridge() {
    corio_js_bridge_setup();
    return val::module_property("corioBridge");
}

struct Entry {
    std::string name;
    int arity;
    std::variant<detail::AsyncExport, detail::GeneratorExport> fn;
};
std::vector<Entry>& exports() {
    static std::vector<Entry> e;
    return e;
}

// What is in flight, by id: calls (for an abort), awaited promises, generators.
struct Call {
    Task<> task;
    val signal = val::undefined();
    val listener = val::undefined();
};
std::unordered_map<int, Call>& calls() {
    static std::unordered_map<int, Call> m;
    return m;
}
std::unordered_map<int, Waker<val>>& awaited() {
    static std::unordered_map<int, Waker<val>> m;
    return m;
}
std::unordered_map<int, detail::GeneratorExport::Handle>& generators() {
    static std::unordered_map<int, detail::GeneratorExport::Handle> m;
    return m;
}
int next_id() {
    static int id = 0;
    return ++id;
}

// Operations in flight (calls, generator steps): Node is kept alive while there are any.
int g_pending = 0;
void pending_up() {
    if (g_pending++ == 0) bridge().call<void>("keepAlive", true);
}
void pending_down() {
    if (--g_pending == 0) bridge().call<void>("keepAlive", false);
}

std::string type_name(const std::type_info& t) {
    int status = 0;
    char* n = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
    std::string s = status == 0 && n ? n : t.name();
    std::free(n);
    return s;
}

// The JS value a C++ exception rejects with.
val to_js_error(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const JsError& x) {
        return x.reason();
    } catch (const CancelledError& x) {
        return bridge().call<val>("error", std::string("CancelledError"), std::string(x.what()));
    } catch (const TimeoutError& x) {
        return bridge().call<val>("error", std::string("TimeoutError"), std::string(x.what()));
    } catch (const ArgumentError& x) {
        return bridge().call<val>("error", std::string("TypeError"), std::string(x.what()));
    } catch (const std::exception& x) {
        val err = bridge().call<val>("error", std::string("Error"), std::string(x.what()));
        err.set("cppType", type_name(typeid(x)));
        return err;
    } catch (...) {
        return bridge().call<val>("error", std::string("Error"), std::string("a C++ exception of a type not derived from std::exception"));
    }
}

Coro<> settle_call(int id, Coro<val> body, val deferred, val signal) {
    Outcome<val> r = co_await capture(std::move(body));
    auto it = calls().find(id);
    if (it != calls().end()) {
        if (!it->second.listener.isUndefined()) bridge().call<void>("unlisten", signal, it->second.listener);
        calls().erase(it);
    }
    pending_down();
    if (r.has_value())
        deferred.call<void>("resolve", r.value());
    else if (r.cancelled() && !signal.isUndefined() && signal["aborted"].as<bool>())
        deferred.call<void>("reject", signal["reason"]);
    else
        deferred.call<void>("reject", to_js_error(r.error()));
}

// JS: mod.name(...args, options) -> Promise.
val call(int index, val args, val options) {
    const Entry& entry = exports().at(static_cast<std::size_t>(index));
    const auto& e = std::get<detail::AsyncExport>(entry.fn);
    val signal = val::undefined();
    if (!options.isUndefined() && !options.isNull()) signal = options["signal"];
    if (!signal.isUndefined() && !signal.isNull()) {
        if (signal["aborted"].as<bool>()) return val::global("Promise").call<val>("reject", signal["reason"]);
    } else {
        signal = val::undefined();
    }
    val deferred = bridge().call<val>("deferred");
    Coro<val> body;
    try {
        body = e.start(args);  // converts the arguments
    } catch (...) {
        deferred.call<void>("reject", to_js_error(std::current_exception()));
        return deferred["promise"];
    }
    const int id = next_id();
    pending_up();
    Call c;
    c.signal = signal;
    c.task = js::loop().create_task(settle_call(id, std::move(body), deferred, signal), entry.name);
    if (!signal.isUndefined()) c.listener = bridge().call<val>("listen", signal, id);
    calls().emplace(id, std::move(c));
    corio_js_pump_soon_from_bridge();
    return deferred["promise"];
}

void abort_call(int id) {
    auto it = calls().find(id);
    if (it == calls().end()) return;
    it->second.listener = val::undefined();  // {once: true}: already removed
    it->second.task.cancel();
    corio_js_pump_soon_from_bridge();
}

void settle(int id, bool ok, val value) {
    auto it = awaited().find(id);
    if (it == awaited().end()) return;
    Waker<val> w = std::move(it->second);
    awaited().erase(it);
    if (ok)
        w.set_result(std::move(value));
    else
        w.set_exception(std::make_exception_ptr(JsError(std::move(value))));
    corio_js_pump_soon_from_bridge();
}

// --- generators -------------------------------------------------------------------------

template <class T>
Coro<T> fail_with(std::exception_ptr e);
Coro<> nothing();

val start_generator(int index, val args) {
    const Entry& entry = exports().at(static_cast<std::size_t>(index));
    const auto& e = std::get<detail::GeneratorExport>(entry.fn);
    detail::GeneratorExport::Handle h;
    try {
        h = e.start(args);
    } catch (...) {
        // As a JS async generator function: the error comes with the first next().
        std::exception_ptr error = std::current_exception();
        h.next = [error] { return fail_with<std::optional<val>>(error); };
        h.close = [] { return nothing(); };
    }
    const int id = next_id();
    generators().emplace(id, std::move(h));
    return bridge().call<val>("iterator", id);
}

template <class T>
Coro<T> fail_with(std::exception_ptr e) {
    std::rethrow_exception(e);
    co_return T{};
}
Coro<> nothing() { co_return; }

val done_result() {
    val r = val::object();
    r.set("value", val::undefined());
    r.set("done", true);
    return r;
}

Coro<> step_generator(int id, bool close, val deferred) {
    auto it = generators().find(id);
    if (it == generators().end()) {
        pending_down();
        deferred.call<void>("resolve", done_result());  // finished or closed before
        co_return;
    }
    detail::GeneratorExport::Handle h = it->second;  // copies: the entry may go meanwhile
    if (close) {
        generators().erase(id);
        Outcome<void> r = co_await capture(h.close());
        pending_down();
        if (r.has_value())
            deferred.call<void>("resolve", done_result());
        else
            deferred.call<void>("reject", to_js_error(r.error()));
        co_return;
    }
    Outcome<std::optional<val>> r = co_await capture(h.next());
    pending_down();
    if (!r.has_value()) {
        generators().erase(id);
        deferred.call<void>("reject", to_js_error(r.error()));
    } else if (!r.value()) {
        generators().erase(id);
        deferred.call<void>("resolve", done_result());
    } else {
        val res = val::object();
        res.set("value", std::move(*r.value()));
        res.set("done", false);
        deferred.call<void>("resolve", res);
    }
}

val generator_step(int id, bool close) {
    val deferred = bridge().call<val>("deferred");
    pending_up();
    js::loop().create_task(step_generator(id, close, deferred));
    corio_js_pump_soon_from_bridge();
    return deferred["promise"];
}
val generator_next(int id) { return generator_step(id, false); }
val generator_return(int id, val) { return generator_step(id, true); }

// [{name, arity, kind}] for the JS loader, which puts one function per export on the module.
val list_exports() {
    val out = val::array();
    for (std::size_t i = 0; i < exports().size(); ++i) {
        const Entry& e = exports()[i];
        val x = val::object();
        x.set("name", e.name);
        x.set("arity", e.arity);
        x.set("index", static_cast<int>(i));
        x.set("kind", std::string(std::holds_alternative<detail::AsyncExport>(e.fn) ? "async" : "generator"));
        out.call<void>("push", x);
    }
    return out;
}

int pending_operations() { return g_pending; }

}  // namespace

JsError::JsError(val reason) : std::runtime_error(bridge().call<std::string>("describe", reason)), reason_(std::move(reason)) {}

EventLoop& loop() { return corio::detail::js_loop(); }

Coro<val> await_promise(val promise) {
    co_return co_await suspend<val>([&](Waker<val> w) {
        const int id = next_id();
        awaited().emplace(id, std::move(w));
        bridge().call<void>("then", promise, id);
    });
}

namespace detail {

void throw_argument(const char* function, int index, const char* expected, const val& got) {
    throw ArgumentError(fmt::format("{}(): argument {} must be {}, got {}", function, index, expected,
                                    got.typeOf().as<std::string>()));
}

void register_export(const std::string& name, int arity, AsyncExport e) {
    exports().push_back(Entry{name, arity, std::move(e)});
}
void register_export(const std::string& name, int arity, GeneratorExport e) {
    exports().push_back(Entry{name, arity, std::move(e)});
}

}  // namespace detail
}  // namespace corio::js

EMSCRIPTEN_BINDINGS(corio_js_bridge) {
    using namespace corio::js;
    emscripten::function("__corio_exports", &list_exports);
    emscripten::function("__corio_call", &call);
    emscripten::function("__corio_abort", &abort_call);
    emscripten::function("__corio_settle", &settle);
    emscripten::function("__corio_gen_start", &start_generator);
    emscripten::function("__corio_gen_next", &generator_next);
    emscripten::function("__corio_gen_return", &generator_return);
    emscripten::function("__corio_pending", &pending_operations);
}
