// async_with is Python's `async with`: aenter() connects before the body, aexit() disconnects
// after it on every way out (end, exception, cancellation). Mirrors python/async_with.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <exception>
#include <string>

using namespace std::chrono_literals;

struct AsyncDatabase {
    // A user-provided constructor, not an aggregate: g++ 12 destroys an aggregate temporary
    // twice when its full-expression contains co_await.
    AsyncDatabase() {}

    corio::Coro<> connect() {
        fmt::print("Подключение к базе данных\n");
        co_await corio::sleep(100ms);
    }

    corio::Coro<> disconnect() {
        fmt::print("Отключение от базы данных\n");
        co_await corio::sleep(100ms);
    }

    corio::Coro<> query(std::string sql) {
        fmt::print("Запрос: {}\n", sql);
        co_await corio::sleep(100ms);
    }

    // __aenter__ returns self: an aenter() giving nothing hands the body the manager itself
    corio::Coro<> aenter() { co_await connect(); }

    corio::Coro<> aexit(std::exception_ptr) { co_await disconnect(); }
};

corio::Coro<> main_coro() {
    co_await corio::async_with(AsyncDatabase{}, [](AsyncDatabase& db) -> corio::Coro<> {
        co_await db.query("SELECT * FROM users");
    });
}

int main() { corio::run(main_coro()); }
