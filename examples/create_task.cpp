// create_task schedules a coroutine at once; the caller goes on working and awaits the
// tasks later. Both finish after 2 s, not 3. Mirrors python/create_task.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <string>

using namespace std::chrono_literals;

corio::Coro<std::string> fetch_data(std::string url, std::chrono::seconds delay) {
    co_await corio::sleep(delay);
    co_return fmt::format("Data from {}", url);
}

corio::Coro<> main_coro() {
    // Create the tasks, which run concurrently
    auto task1 = corio::create_task(fetch_data("api1", 2s));
    auto task2 = corio::create_task(fetch_data("api2", 1s));

    // Do something else while the tasks run
    fmt::print("Задачи запущены\n");

    // Get the results
    std::string result1 = co_await task1;
    std::string result2 = co_await task2;
    fmt::print("{} {}\n", result1, result2);
}

int main() { corio::run(main_coro()); }
