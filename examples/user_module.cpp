// A module of your own for the corio npm package: add(a, b) resolves to a + b after
// yielding to the loop once. Built with the README's em++ line, loaded with
// `const mod = await load('./user_module.js'); await mod.add(2, 3)  // 5`.
#include <corio/js.hpp>

#include <emscripten/bind.h>

#include <chrono>

corio::Coro<double> add(double a, double b) {
    co_await corio::sleep(std::chrono::seconds(0));
    co_return a + b;
}

EMSCRIPTEN_BINDINGS(user_module) { corio::js::export_async("add", &add); }
