// Two connected stream ends for the stream tests, over a memory pair (every backend) or over
// TCP on 127.0.0.1 through corio's own server (the libuv backend): each stream test runs on
// both, since a memory pair must behave as TCP does.
#pragma once

#include <corio/corio.hpp>

#include <functional>
#include <string>
#include <vector>

namespace corio_test {

enum class PairKind { memory, tcp };
const char* name_of(PairKind k);
// memory everywhere, and tcp where the backend has sockets.
std::vector<PairKind> pair_kinds();

struct StreamPair {
    corio::MemoryStream a;  // the client's end
    corio::MemoryStream b;  // the server's end
    corio::Server server;   // tcp: the server that accepted b
};

// `limit`: both readers' limit.
corio::Coro<StreamPair> make_pair(PairKind kind, std::size_t limit = 64 * 1024);

// Lets bytes written so far arrive at the other end (a few loop turns; on TCP also a short
// real-time pause for the kernel's loopback).
corio::Coro<> settle(PairKind kind);

// Runs `body(kind)` once per pair kind, each in a fresh corio::run.
void for_each_pair_kind(const std::function<corio::Coro<>(PairKind)>& body);

}  // namespace corio_test
