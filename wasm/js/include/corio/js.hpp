// corio for JavaScript (the library build, Emscripten only): C++ coroutines as JS functions
// that return Promises, and JS Promises awaited in C++.
//   corio::Coro<std::string> fetch_data(std::string url, int ms);
//   EMSCRIPTEN_BINDINGS(demo) { corio::js::export_async("fetchData", &fetch_data); }
// From JS: `await mod.fetchData("a", 10)`, or `mod.fetchData("a", 10, { signal })` to cancel
// the C++ task with an AbortSignal. In C++: `emscripten::val v = co_await
// corio::js::await_promise(p);`, a rejection as corio::js::JsError. The loop runs on the JS
// event loop (no Asyncify): any number of calls may be in flight at once.
#pragma once

#include <emscripten/val.h>

#include <corio/corio.hpp>

#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <tuple>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio::js {

// A JS rejection (or a JS exception) in C++. what() is `name + ": " + message` for an Error
// reason, else String(reason); reason() is the JS value itself.
class JsError : public std::runtime_error {
public:
    explicit JsError(emscripten::val reason);
    const emscripten::val& reason() const noexcept { return reason_; }

private:
    emscripten::val reason_;
};

// A JS argument of the wrong type for an exported function: rejects with a JS TypeError.
class ArgumentError : public ValueError {
public:
    using ValueError::ValueError;
};

// A JS function received from JS (an exported function's argument of this type must be a
// function: anything else rejects with a TypeError). Calling it is guarded: a JS exception
// it throws becomes a JsError in C++, where emscripten::val's operator() would let the JS
// exception unwind through C++ frames (which no C++ catch can stop).
class Function {
public:
    explicit Function(emscripten::val f) : f_(std::move(f)) {}
    template <class... A>
    emscripten::val operator()(A&&... args) const {
        if constexpr (sizeof...(A) == 0) {
            return apply(emscripten::val::undefined());
        } else {
            emscripten::val a = emscripten::val::array();
            (a.call<void>("push", emscripten::val(std::forward<A>(args))), ...);
            return apply(a);
        }
    }
    // f(...args) with args a JS Array (or undefined: no arguments).
    emscripten::val apply(const emscripten::val& args) const;
    const emscripten::val& value() const noexcept { return f_; }

private:
    emscripten::val f_;
};

// String(v), guarded: a toString() that throws is a JsError.
std::string to_string(const emscripten::val& v);

// co_await await_promise(p) -> the fulfilled value; JsError on a rejection. `p` may be any
// thenable or plain value (as JS `await`). Cancelling the awaiting task stops waiting at once
// (a JS promise cannot be stopped; its late settlement is ignored).
Coro<emscripten::val> await_promise(emscripten::val promise);

// The loop the JS event loop drives (made on first use).
EventLoop& loop();

namespace detail {

// JS -> C++ arguments and C++ -> JS results (embind's conversions, with type checks that
// name the function and the argument).
[[noreturn]] void throw_argument(const char* function, int index, const char* expected, const emscripten::val& got);
bool is_function(const emscripten::val& v);
// args[i] of a JS Array (cheaper than val::operator[], which makes a handle for the key).
emscripten::val arg(const emscripten::val& args, std::size_t i);

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
T from_js(const emscripten::val& v, const char* function, int index) {
    using emscripten::val;
    if constexpr (std::is_same_v<T, val>) {
        return v;
    } else if constexpr (std::is_same_v<T, Function>) {
        if (!is_function(v)) throw_argument(function, index, "a function", v);
        return Function(v);
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!v.isTrue() && !v.isFalse()) throw_argument(function, index, "a boolean", v);
        return v.isTrue();
    } else if constexpr (std::is_arithmetic_v<T>) {
        if (!v.isNumber()) throw_argument(function, index, "a number", v);
        const double d = v.as<double>();
        if constexpr (std::is_integral_v<T>) {
            if (d != static_cast<double>(static_cast<long long>(d)) || d < static_cast<double>(std::numeric_limits<T>::min()) ||
                d > static_cast<double>(std::numeric_limits<T>::max()))
                throw_argument(function, index, "an integer in range", v);
        }
        return static_cast<T>(d);
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!v.isString()) throw_argument(function, index, "a string", v);
        return v.as<std::string>();
    } else if constexpr (is_vector<T>::value) {
        if (!val::global("Array").call<bool>("isArray", v)) throw_argument(function, index, "an Array", v);
        const auto n = v["length"].as<std::size_t>();
        T out;
        out.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
            out.push_back(from_js<typename T::value_type>(v[i], function, index));
        return out;
    } else if constexpr (is_optional<T>::value) {
        if (v.isUndefined() || v.isNull()) return std::nullopt;
        return from_js<typename T::value_type>(v, function, index);
    } else {
        static_assert(!sizeof(T), "corio::js: no JS conversion for this argument type");
    }
}

template <class T>
emscripten::val to_js(T&& value) {
    using emscripten::val;
    using U = std::remove_cvref_t<T>;
    if constexpr (std::is_same_v<U, val>) {
        return std::forward<T>(value);
    } else if constexpr (std::is_same_v<U, bool> || std::is_arithmetic_v<U>) {
        return val(static_cast<std::conditional_t<std::is_same_v<U, bool>, bool, double>>(value));
    } else if constexpr (std::is_same_v<U, std::string>) {
        return val(value);
    } else if constexpr (is_vector<U>::value) {
        val a = val::array();
        for (auto& x : value) a.call<void>("push", to_js(std::move(x)));
        return a;
    } else if constexpr (is_optional<U>::value) {
        return value ? to_js(std::move(*value)) : val::undefined();
    } else {
        static_assert(!sizeof(T), "corio::js: no JS conversion for this result type");
    }
}

// An exported function, type-erased: start(args) converts the JS arguments (ArgumentError)
// and returns the coroutine whose value goes to the Promise.
struct AsyncExport {
    std::function<Coro<emscripten::val>(const emscripten::val& args)> start;
};
// An exported async generator: start(args) makes the generator, behind next() and aclose().
struct GeneratorExport {
    struct Handle {
        std::function<Coro<std::optional<emscripten::val>>()> next;
        std::function<Coro<>()> close;
    };
    std::function<Handle(const emscripten::val& args)> start;
};
void register_export(const std::string& name, int arity, AsyncExport e);
void register_export(const std::string& name, int arity, GeneratorExport e);

template <class R>
Coro<emscripten::val> result_to_js(Coro<R> body) {
    if constexpr (std::is_void_v<R>) {
        co_await std::move(body);
        co_return emscripten::val::undefined();
    } else {
        co_return to_js(co_await std::move(body));
    }
}

template <class T>
Coro<std::optional<emscripten::val>> generator_next(std::shared_ptr<AsyncGenerator<T>> g) {
    std::optional<T> v = co_await g->next();
    if (!v) co_return std::nullopt;
    co_return to_js(std::move(*v));
}
template <class T>
Coro<> generator_close(std::shared_ptr<AsyncGenerator<T>> g) {
    co_await g->aclose();
}

template <class... Args, std::size_t... I>
auto convert_args(const std::string& name, const emscripten::val& args, std::index_sequence<I...>) {
    // Braces: converted (and type-checked) left to right.
    return std::tuple<std::decay_t<Args>...>{from_js<std::decay_t<Args>>(arg(args, I), name.c_str(), static_cast<int>(I) + 1)...};
}

}  // namespace detail

// Exports `f` to JS as `name`: a function taking f's arguments, optionally followed by
// `{ signal }`, and returning a Promise of f's value (void: undefined; std::vector: an
// Array; strings as UTF-8). A C++ exception rejects it with an Error whose message is
// what() (name "TimeoutError" for corio::TimeoutError, the JS reason itself for a JsError).
// Aborting the signal cancels the C++ task (CancelledError at its co_await, destructors
// run) and rejects with signal.reason; an already aborted signal rejects without starting.
template <class R, class... Args>
void export_async(const std::string& name, Coro<R> (*f)(Args...)) {
    detail::AsyncExport e;
    e.start = [name, f](const emscripten::val& args) -> Coro<emscripten::val> {
        auto converted = detail::convert_args<Args...>(name, args, std::index_sequence_for<Args...>{});
        return detail::result_to_js(std::apply(f, std::move(converted)));
    };
    detail::register_export(name, static_cast<int>(sizeof...(Args)), std::move(e));
}

// An AsyncGenerator<T> becomes a JS async iterator: `for await (const v of mod.counter(3))`;
// return() (what `for await ... break` calls) closes the generator (aclose()), and every
// later next() gives { value: undefined, done: true }.
template <class T, class... Args>
void export_async(const std::string& name, AsyncGenerator<T> (*f)(Args...)) {
    detail::GeneratorExport e;
    e.start = [name, f](const emscripten::val& args) {
        auto converted = detail::convert_args<Args...>(name, args, std::index_sequence_for<Args...>{});
        auto g = std::make_shared<AsyncGenerator<T>>(std::apply(f, std::move(converted)));
        detail::GeneratorExport::Handle h;
        h.next = [g] { return detail::generator_next<T>(g); };
        h.close = [g] { return detail::generator_close<T>(g); };
        return h;
    };
    detail::register_export(name, static_cast<int>(sizeof...(Args)), std::move(e));
}

}  // namespace corio::js
