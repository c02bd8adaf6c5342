// The Promise bridge both ways, for corio's JavaScript library build. JS owns the Promises
// (Module.corioBridge: a table of calls in flight by id, with their resolvers and abort
// listeners); C++ owns the tasks (by the same id). A call runs its task at once, as a JS
// async function runs its body until its first await; every entry from JS ends by running
// the pump. C++ exceptions never cross into JS (each becomes a rejected Error), and JS
// exceptions thrown by JS code that C++ calls are caught in JS and come back as JsError.
#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <fmt/format.h>

#include <cxxabi.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <variant>
#include <vector>

#include "corio/js.hpp"

using emscripten::val;
using emscripten::EM_VAL;

namespace corio::detail {
EventLoop& js_loop();  // backends/browser/js_pump_backend.cpp
}

namespace corio::js {

namespace {

// The JS half, installed once on the module (by the first __corio_exports()).
EM_JS(void, corio_js_bridge_setup, (), {
    if (Module.corioBridge) return;
    var calls = new Map();  // id -> { resolve, reject, signal, listener }
    var nextId = 1;
    var report = function(e) { setTimeout(function() { throw e; }, 0); };
    // Runs C++ (an entry of the bridge), then what became ready. An exception here is a JS
    // exception that unwound through C++ frames (an emscripten::val call that threw): it is
    // reported as uncaught, as a throwing callback would be, never thrown at the caller.
    var enter = function(f) {
        try { f(); } catch (e) { report(e); }
        Module.corioPump.now();
    };
    // While a call is in flight Node stays alive, as a pending setTimeout keeps it: one
    // interval, ref()'d while calls.size > 0 and unref()'d otherwise (not needed in a page).
    var keepAlive = null;
    var hold = function(on) {
        if (keepAlive === null) {
            if (typeof process !== 'object' || typeof setInterval !== 'function') return;
            keepAlive = setInterval(function() {}, 1 << 30);
            if (typeof keepAlive.unref !== 'function') { clearInterval(keepAlive); keepAlive = false; return; }
            keepAlive.unref();
        }
        if (keepAlive === false) return;
        if (on) keepAlive.ref(); else keepAlive.unref();
    };
    var newCall = function(signal) {
        var c = { resolve: null, reject: null, signal: signal, listener: null, id: nextId++ };
        c.promise = new Promise(function(resolve, reject) { c.resolve = resolve; c.reject = reject; });
        calls.set(c.id, c);
        if (calls.size === 1) hold(true);
        return c;
    };
    var finish = function(id) {
        var c = calls.get(id);
        if (c === undefined) return undefined;
        calls.delete(id);
        if (calls.size === 0) hold(false);
        if (c.listener !== null) c.signal.removeEventListener('abort', c.listener);
        return c;
    };
    var isSignal = function(s) {
        return s !== null && typeof s === 'object' && typeof s.addEventListener === 'function' &&
               typeof s.removeEventListener === 'function' && typeof s.aborted === 'boolean';
    };
    var makeError = function(name, message) {
        var e = name === 'TypeError' ? new TypeError(message) : new Error(message);
        if (name !== 'TypeError' && name !== 'Error') e.name = name;
        return e;
    };
    var gens = new FinalizationRegistry(function(genId) {
        try { Module._corio_js_gen_drop(genId); } catch (e) { report(e); }
    });
    var done = function(v) { return { value: v, done: true }; };
    var B = {
        // mod.name(...args, options) -> Promise (index.mjs checks the argument count).
        call: function(index, name, args, options) {
            var signal;
            if (options !== undefined && options !== null) {
                if (typeof options !== 'object') return Promise.reject(new TypeError(name + '(): the last argument must be an options object { signal }, got ' + typeof options));
                signal = options.signal;
            }
            if (signal === undefined || signal === null) {
                signal = undefined;
            } else if (!isSignal(signal)) {
                return Promise.reject(new TypeError(name + '(): options.signal must be an AbortSignal'));
            } else if (signal.aborted) {
                return Promise.reject(signal.reason);
            }
            var c = newCall(signal);
            if (signal !== undefined) {
                c.listener = function() { enter(function() { Module._corio_js_abort(c.id); }); };
                signal.addEventListener('abort', c.listener, { once: true });
            }
            enter(function() { Module._corio_js_call(index, c.id, Emval.toHandle(args)); });
            return c.promise;
        },
        // From C++: a call's (or a generator step's) outcome.
        resolve: function(id, value) { var c = finish(id); if (c) c.resolve(value); },
        resolveStep: function(id, value, isDone) { var c = finish(id); if (c) c.resolve({ value: value, done: isDone }); },
        reject: function(id, reason) { var c = finish(id); if (c) c.reject(reason); },
        rejectCancelled: function(id, message) {
            var c = finish(id);
            if (!c) return;
            if (c.signal !== undefined && c.signal.aborted) c.reject(c.signal.reason);
            else c.reject(makeError('CancelledError', message));
        },
        error: function(name, message, cppType) {
            var e = makeError(name, message);
            if (cppType) e.cppType = cppType;
            return e;
        },
        // C++'s waiter `id` learns how `p` settles (any value or thenable, as `await` takes).
        then: function(p, id) {
            var settle = function(ok, v) { enter(function() { Module._corio_js_settle(id, ok, Emval.toHandle(v)); }); };
            try {
                Promise.resolve(p).then(function(v) { settle(1, v); }, function(e) { settle(0, e); });
            } catch (e) {
                Promise.resolve().then(function() { settle(0, e); });
            }
        },
        // A JS async iterator over C++ generator `index`: next() and return() queue behind
        // the step in flight, as a JS async generator's do; after the end every next() is done.
        generator: function(index, args) {
            var genId = nextId++;
            var tail = Promise.resolve();
            var finished = false;
            var it = {};
            var step = function(op, v) {
                var p = tail.then(function() {
                    if (finished) return done(op === 1 ? v : undefined);
                    var c = newCall(undefined);
                    enter(function() { Module._corio_js_gen_step(genId, op, c.id); });
                    return c.promise.then(function(r) {
                        if (r.done) { finished = true; if (op === 1) r.value = v; }
                        return r;
                    }, function(e) { finished = true; throw e; });
                });
                tail = p.then(function() {}, function() {});
                return p;
            };
            it.next = function() { return step(0); };
            it.return = function(v) { return step(1, v); };
            it[Symbol.asyncIterator] = function() { return it; };
            enter(function() { Module._corio_js_gen_start(index, genId, Emval.toHandle(args)); });
            gens.register(it, genId);
            return it;
        },
        describe: function(reason) {
            try {
                if (reason instanceof Error) return reason.name + ': ' + reason.message;
                return String(reason);
            } catch (e) {
                try { return Object.prototype.toString.call(reason); } catch (e2) { return '(a value that cannot be described)'; }
            }
        },
        pending: function() { return calls.size; },
    };
    Module.corioBridge = B;
});

// C++ -> JS, by id. The handles stay owned by the C++ vals that pass them.
EM_JS(void, corio_js_resolve, (int id, EM_VAL v), { Module.corioBridge.resolve(id, Emval.toValue(v)); });
EM_JS(void, corio_js_resolve_step, (int id, EM_VAL v, int isDone), {
    Module.corioBridge.resolveStep(id, Emval.toValue(v), isDone !== 0);
});
EM_JS(void, corio_js_reject, (int id, EM_VAL e), { Module.corioBridge.reject(id, Emval.toValue(e)); });
EM_JS(void, corio_js_reject_cancelled, (int id, const char* message), {
    Module.corioBridge.rejectCancelled(id, UTF8ToString(message));
});
EM_JS(void, corio_js_then, (EM_VAL p, int id), { Module.corioBridge.then(Emval.toValue(p), id); });
EM_JS(EM_VAL, corio_js_error, (const char* name, const char* message, const char* cpp_type), {
    return Emval.toHandle(Module.corioBridge.error(UTF8ToString(name), UTF8ToString(message), cpp_type ? UTF8ToString(cpp_type) : String()));
});
EM_JS(EM_VAL, corio_js_describe, (EM_VAL v), { return Emval.toHandle(Module.corioBridge.describe(Emval.toValue(v))); });
// f.apply(undefined, args), String(v): a JS exception comes back as a value with *failed set.
EM_JS(EM_VAL, corio_js_apply, (EM_VAL f, EM_VAL args, int* failed), {
    try {
        var a = Emval.toValue(args);
        return Emval.toHandle(a === undefined ? Emval.toValue(f)() : Emval.toValue(f).apply(undefined, a));
    } catch (e) {
        HEAP32[failed >> 2] = 1;
        return Emval.toHandle(e);
    }
});
EM_JS(EM_VAL, corio_js_string, (EM_VAL v, int* failed), {
    try {
        return Emval.toHandle(String(Emval.toValue(v)));
    } catch (e) {
        HEAP32[failed >> 2] = 1;
        return Emval.toHandle(e);
    }
});
EM_JS(EM_VAL, corio_js_arg, (EM_VAL args, int i), { return Emval.toHandle(Emval.toValue(args)[i]); });
EM_JS(int, corio_js_is_function, (EM_VAL v), { return typeof Emval.toValue(v) === 'function' ? 1 : 0; });

struct Entry {
    std::string name;
    int arity;
    std::variant<detail::AsyncExport, detail::GeneratorExport> fn;
};
std::vector<Entry>& exports() {
    static std::vector<Entry> e;
    return e;
}

// What is in flight on the C++ side: call tasks by id (for an abort), awaited promises by
// waiter id, generators by id, and the number of generator steps running.
std::unordered_map<int, Task<val>>& calls() {
    static std::unordered_map<int, Task<val>> m;
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
int g_steps = 0;
int next_waiter_id() {
    static int id = 0;
    return ++id;
}

std::string type_name(const std::type_info& t) {
    int status = 0;
    char* n = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
    std::string s = status == 0 && n ? n : t.name();
    std::free(n);
    return s;
}

val make_error(const char* name, const std::string& message, const char* cpp_type = nullptr) {
    return val::take_ownership(corio_js_error(name, message.c_str(), cpp_type));
}

// The JS value a C++ exception rejects with.
val to_js_error(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const JsError& x) {
        return x.reason();
    } catch (const CancelledError& x) {
        return make_error("CancelledError", x.what());
    } catch (const TimeoutError& x) {
        return make_error("TimeoutError", x.what());
    } catch (const ArgumentError& x) {
        return make_error("TypeError", x.what());
    } catch (const std::exception& x) {
        return make_error("Error", x.what(), type_name(typeid(x)).c_str());
    } catch (...) {
        return make_error("Error", "a C++ exception of a type not derived from std::exception");
    }
}

// Rejects call `id` if its task was cancelled or failed; false if it has a value.
template <class T>
bool rejected(int id, const Task<T>& t, const char* cancelled_message) {
    if (t.cancelled()) {
        corio_js_reject_cancelled(id, cancelled_message);
        return true;
    }
    if (std::exception_ptr e = t.exception()) {
        corio_js_reject(id, to_js_error(e).as_handle());
        return true;
    }
    return false;
}

// A call's task is done (also when it was cancelled before its first step): settle its Promise.
void finish_call(int id, const Task<val>& t) {
    calls().erase(id);
    if (rejected(id, t, "the C++ task was cancelled")) return;
    val v = t.result();
    corio_js_resolve(id, v.as_handle());
}

const Entry* entry_at(int index) {
    if (index < 0 || static_cast<std::size_t>(index) >= exports().size()) return nullptr;
    return &exports()[static_cast<std::size_t>(index)];
}

// --- generators -------------------------------------------------------------------------

template <class T>
Coro<T> fail_with(std::exception_ptr e) {
    std::rethrow_exception(e);
    co_return T{};
}
Coro<> nothing() { co_return; }

// A step's value; empty: the generator is done (finished, closed, or never there).
Coro<std::optional<val>> run_step(int gen_id, int op) {
    auto it = generators().find(gen_id);
    if (it == generators().end()) co_return std::nullopt;
    detail::GeneratorExport::Handle h = it->second;  // a copy: the entry may go meanwhile
    if (op == 1) {
        generators().erase(it);
        co_await h.close();
        co_return std::nullopt;
    }
    std::optional<val> v;
    try {
        v = co_await h.next();
    } catch (...) {
        generators().erase(gen_id);
        throw;
    }
    if (!v) generators().erase(gen_id);
    co_return v;
}

void finish_step(int call_id, const Task<std::optional<val>>& t) {
    --g_steps;
    if (rejected(call_id, t, "the C++ generator's step was cancelled")) return;
    std::optional<val> v = t.result();
    if (v) {
        corio_js_resolve_step(call_id, v->as_handle(), 0);
    } else {
        val u = val::undefined();
        corio_js_resolve_step(call_id, u.as_handle(), 1);
    }
}

// [{name, arity, kind}] for the JS loader, which puts one function per export on the module.
val list_exports() {
    (void)js::loop();  // makes the loop, and with it Module.corioPump
    corio_js_bridge_setup();
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

int pending_operations() { return static_cast<int>(calls().size()) + g_steps; }
int awaited_promises() { return static_cast<int>(awaited().size()); }
int live_generators() { return static_cast<int>(generators().size()); }

}  // namespace

// --- the entries JS calls (Module._corio_js_*), each followed by a pump ------------------

extern "C" {

EMSCRIPTEN_KEEPALIVE void corio_js_call(int index, int id, EM_VAL args_handle) {
    val args = val::take_ownership(args_handle);
    const Entry* entry = entry_at(index);
    if (!entry || !std::holds_alternative<detail::AsyncExport>(entry->fn)) {
        corio_js_reject(id, make_error("TypeError", fmt::format("corio: no exported async function #{}", index)).as_handle());
        return;
    }
    Coro<val> body;
    try {
        body = std::get<detail::AsyncExport>(entry->fn).start(args);  // converts the arguments
    } catch (...) {
        corio_js_reject(id, to_js_error(std::current_exception()).as_handle());
        return;
    }
    Task<val> t = js::loop().create_task(std::move(body), entry->name);
    t.add_done_callback([id](const Task<val>& done) { finish_call(id, done); });
    calls().emplace(id, std::move(t));
}

EMSCRIPTEN_KEEPALIVE void corio_js_abort(int id) {
    auto it = calls().find(id);
    if (it != calls().end()) it->second.cancel();
}

EMSCRIPTEN_KEEPALIVE void corio_js_settle(int waiter, int ok, EM_VAL value_handle) {
    val value = val::take_ownership(value_handle);
    auto it = awaited().find(waiter);
    if (it == awaited().end()) return;  // the awaiting task was cancelled meanwhile
    Waker<val> w = std::move(it->second);
    awaited().erase(it);
    if (ok)
        w.set_result(std::move(value));
    else
        w.set_exception(std::make_exception_ptr(JsError(std::move(value))));
}

EMSCRIPTEN_KEEPALIVE void corio_js_gen_start(int index, int gen_id, EM_VAL args_handle) {
    val args = val::take_ownership(args_handle);
    const Entry* entry = entry_at(index);
    detail::GeneratorExport::Handle h;
    try {
        if (!entry || !std::holds_alternative<detail::GeneratorExport>(entry->fn))
            throw ArgumentError(fmt::format("corio: no exported generator #{}", index));
        h = std::get<detail::GeneratorExport>(entry->fn).start(args);
    } catch (...) {
        // As a JS async generator function: the error comes with the first next().
        std::exception_ptr error = std::current_exception();
        h.next = [error] { return fail_with<std::optional<val>>(error); };
        h.close = [] { return nothing(); };
    }
    generators().emplace(gen_id, std::move(h));
}

// op 0: next(), op 1: return(). The JS side never has two steps of one generator in flight.
EMSCRIPTEN_KEEPALIVE void corio_js_gen_step(int gen_id, int op, int call_id) {
    ++g_steps;
    Task<std::optional<val>> t = js::loop().create_task(run_step(gen_id, op));
    t.add_done_callback([call_id](const Task<std::optional<val>>& done) { finish_step(call_id, done); });
}

// The JS iterator was garbage-collected: the generator goes with it (its frame destroyed,
// destructors run), unless a step still holds it.
EMSCRIPTEN_KEEPALIVE void corio_js_gen_drop(int gen_id) { generators().erase(gen_id); }

}  // extern "C"

JsError::JsError(val reason)
    : std::runtime_error(val::take_ownership(corio_js_describe(reason.as_handle())).as<std::string>()), reason_(std::move(reason)) {}

EventLoop& loop() { return corio::detail::js_loop(); }

Coro<val> await_promise(val promise) {
    int id = 0;
    co_return co_await suspend<val>(
        [&](Waker<val> w) {
            id = next_waiter_id();
            awaited().emplace(id, std::move(w));
            corio_js_then(promise.as_handle(), id);
        },
        [&] { awaited().erase(id); });  // cancelled: the late settlement is ignored
}

val Function::apply(const val& args) const {
    int failed = 0;
    val r = val::take_ownership(corio_js_apply(f_.as_handle(), args.as_handle(), &failed));
    if (failed) throw JsError(std::move(r));
    return r;
}

std::string to_string(const val& v) {
    int failed = 0;
    val r = val::take_ownership(corio_js_string(v.as_handle(), &failed));
    if (failed) throw JsError(std::move(r));
    return r.as<std::string>();
}

namespace detail {

bool is_function(const val& v) { return corio_js_is_function(v.as_handle()) != 0; }
val arg(const val& args, std::size_t i) { return val::take_ownership(corio_js_arg(args.as_handle(), static_cast<int>(i))); }

void throw_argument(const char* function, int index, const char* expected, const val& got) {
    std::string type = got.isNull() ? std::string("null") : got.typeOf().as<std::string>();
    throw ArgumentError(fmt::format("{}(): argument {} must be {}, got {}", function, index, expected, type));
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
    emscripten::function("__corio_pending", &pending_operations);
    emscripten::function("__corio_awaited", &awaited_promises);
    emscripten::function("__corio_generators", &live_generators);
}
