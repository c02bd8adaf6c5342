// The stream tests' pairs: see stream_pairs.hpp.
#include "stream_pairs.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <optional>

#include "support.hpp"

using namespace std::chrono_literals;

namespace corio_test {

const char* name_of(PairKind k) { return k == PairKind::memory ? "memory pair" : "TCP pair"; }

std::vector<PairKind> pair_kinds() {
    std::vector<PairKind> kinds{PairKind::memory};
    if (backend_name() == "libuv") kinds.push_back(PairKind::tcp);
    return kinds;
}

corio::Coro<StreamPair> make_pair(PairKind kind, std::size_t limit) {
    corio::OpenOptions options;
    options.limit = limit;
    if (kind == PairKind::memory) {
        auto [a, b] = corio::memory_stream_pair(options);
        co_return StreamPair{std::move(a), std::move(b), corio::Server()};
    }
    auto accepted = std::make_shared<corio::Queue<corio::MemoryStream>>();
    corio::ServerOptions so;
    so.limit = limit;
    // Named: g++ 12 destroys a temporary lambda's by-copy captures twice in a co_await expression.
    auto handler = [accepted](corio::StreamReader r, corio::StreamWriter w) -> corio::Coro<> {
        accepted->put_nowait(corio::MemoryStream{std::move(r), std::move(w)});
        co_return;
    };
    corio::Server server = co_await corio::start_server(handler, "127.0.0.1", 0, so);
    auto [r, w] = co_await corio::open_connection("127.0.0.1", server.sockets().at(0).port, options);
    corio::MemoryStream b = co_await accepted->get();
    co_return StreamPair{corio::MemoryStream{std::move(r), std::move(w)}, std::move(b), std::move(server)};
}

corio::Coro<> settle(PairKind kind) {
    if (kind == PairKind::tcp) co_await corio::sleep(20ms);
    co_await yield_n(3);
}

void for_each_pair_kind(const std::function<corio::Coro<>(PairKind)>& body) {
    for (PairKind k : pair_kinds()) {
        INFO(name_of(k));
        run_test(body(k));
    }
}

}  // namespace corio_test
