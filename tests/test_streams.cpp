// Ports of CPython 3.13's test_asyncio/test_streams.py, each on a memory pair and (on the
// libuv backend) on a TCP pair through corio's own server: a memory pair must behave as TCP
// does. Where asyncio's test looks at `stream._buffer`, this one reads what is left after
// closing the other end, which is the same bytes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <array>
#include <string_view>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "stream_pairs.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Task;
using corio_test::PairKind;
using corio_test::for_each_pair_kind;
using corio_test::make_pair;
using corio_test::run_test;
using corio_test::settle;

namespace {

const std::string DATA = "line1\nline2\nline3\n";

// What the reader still holds (and anything sent after): closes the sending side, reads to EOF.
Coro<std::string> rest(corio_test::StreamPair& p) {
    p.a.writer.close();
    co_return co_await p.b.reader.read();
}

// Sends `chunks` one by one, letting each arrive before the next. (Variadic, not a braced
// list: g++ 12 cannot compile an initializer_list in a co_await expression.)
template <class... Chunks>
Coro<> feed(corio_test::StreamPair& p, PairKind kind, Chunks... chunks) {
    const std::array<std::string_view, sizeof...(Chunks)> list{std::string_view(chunks)...};
    for (std::string_view c : list) {
        p.a.writer.write(c);
        co_await settle(kind);
    }
}

}  // namespace

TEST_CASE("streams: read(0) returns at once, with or without data (test_read_zero)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        CHECK((co_await p.b.reader.read(0)).empty());  // nothing there, still no wait
        p.a.writer.write(DATA);
        co_await settle(kind);
        CHECK((co_await p.b.reader.read(0)).empty());
        CHECK(co_await rest(p) == DATA);
    });
}

TEST_CASE("streams: read(n) gives what has arrived, waiting only when nothing has (test_read)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        auto t = corio::create_task(p.b.reader.read(30));
        co_await settle(kind);
        CHECK_FALSE(t.done());
        p.a.writer.write(DATA);
        CHECK(co_await t == DATA);
        // test_read_line_breaks: n cuts across lines
        p.a.writer.write("line1\nline2\n");
        co_await settle(kind);
        CHECK(co_await p.b.reader.read(5) == "line1");
        CHECK(co_await p.b.reader.read(5) == "\nline");
        CHECK(co_await rest(p) == "2\n");
    });
}

TEST_CASE("streams: read at EOF gives \"\"; read(-1) reads to EOF (test_read_eof, test_read_until_eof)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        auto t = corio::create_task(p.b.reader.read(1024));
        co_await settle(kind);
        p.a.writer.close();
        CHECK((co_await t).empty());
        CHECK(p.b.reader.at_eof());
        CHECK((co_await p.b.reader.read()).empty());

        auto q = co_await make_pair(kind);
        auto all = corio::create_task(q.b.reader.read(-1));
        co_await feed(q, kind, "chunk1\n", "chunk2");
        CHECK_FALSE(all.done());
        q.a.writer.close();
        CHECK(co_await all == "chunk1\nchunk2");
    });
}

TEST_CASE("streams: read and readexactly larger than the limit (test_read_limit, test_readexactly_limit)",
          "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind, 3);
        p.a.writer.write("chunk");
        co_await settle(kind);
        CHECK(co_await p.b.reader.read(5) == "chunk");
        p.a.writer.write("chunk");
        CHECK(co_await p.b.reader.readexactly(5) == "chunk");
        // Far past the limit: the reader pauses the transport above 2 * limit, and a
        // readexactly that needs more resumes it.
        const std::string big(1000, 'x');
        p.a.writer.write(big);
        CHECK(co_await p.b.reader.readexactly(1000) == big);
        CHECK((co_await rest(p)).empty());
    });
}

TEST_CASE("streams: a limit of 0 is a ValueError (test_invalid_limit)", "[streams]") {
    run_test([]() -> Coro<> {
        corio::OpenOptions o;
        o.limit = 0;
        CHECK_THROWS_AS(corio::memory_stream_pair(o), corio::ValueError);
        co_return;
    }());
}

TEST_CASE("streams: readline waits for the end of the line across chunks (test_readline)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        p.a.writer.write("chunk1 ");
        auto t = corio::create_task(p.b.reader.readline());
        co_await settle(kind);
        CHECK_FALSE(t.done());
        co_await feed(p, kind, "chunk2 ", "chunk3 ", "\n chunk4");
        CHECK(co_await t == "chunk1 chunk2 chunk3 \n");
        CHECK(co_await rest(p) == " chunk4");
    });
}

TEST_CASE("streams: readline past the limit with the data already there (test_readline_limit_with_existing_data)",
          "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind, 3);
        p.a.writer.write("line1\nline2\n");
        co_await settle(kind);
        CHECK_THROWS_AS(co_await p.b.reader.readline(), corio::ValueError);
        CHECK(co_await rest(p) == "line2\n");  // the long line went, the next one stays

        auto q = co_await make_pair(kind, 3);
        q.a.writer.write("line1li");
        co_await settle(kind);
        CHECK_THROWS_AS(co_await q.b.reader.readline(), corio::ValueError);
        CHECK((co_await rest(q)).empty());  // no separator: the whole buffer went
    });
}

TEST_CASE("streams: readline's limit is exact (test_readline_limit)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        {
            auto p = co_await make_pair(kind, 7);
            p.a.writer.write("chunk1chunk2chunk3\n");
            p.a.writer.close();
            co_await settle(kind);
            CHECK_THROWS_AS(co_await p.b.reader.readline(), corio::ValueError);
            CHECK((co_await p.b.reader.read()).empty());
        }
        {
            auto p = co_await make_pair(kind, 7);
            p.a.writer.write("chunk1chunk2\nchunk3\n");
            p.a.writer.close();
            co_await settle(kind);
            CHECK_THROWS_AS(co_await p.b.reader.readline(), corio::ValueError);
            CHECK(co_await p.b.reader.read() == "chunk3\n");
        }
        {
            // A line of exactly `limit` bytes plus its newline is accepted; one more is not.
            auto p = co_await make_pair(kind, 7);
            p.a.writer.write("1234567\n");
            CHECK(co_await p.b.reader.readline() == "1234567\n");
            p.a.writer.write("12345678\n");
            co_await settle(kind);
            CHECK_THROWS_AS(co_await p.b.reader.readline(), corio::ValueError);
            p.a.writer.write("12345678");
            co_await settle(kind);
            CHECK_THROWS_AS(co_await p.b.reader.readline(), corio::ValueError);
            CHECK((co_await rest(p)).empty());
        }
    });
}

TEST_CASE("streams: readline without waiting, at EOF, and read after it (test_readline_nolimit_nowait ...)",
          "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        p.a.writer.write(DATA);
        co_await settle(kind);
        CHECK(co_await p.b.reader.readline() == "line1\n");
        CHECK(co_await p.b.reader.read(7) == "line2\nl");  // test_readline_read_byte_count
        CHECK(co_await rest(p) == "ine3\n");

        auto q = co_await make_pair(kind);
        q.a.writer.write("some data");
        q.a.writer.close();
        CHECK(co_await q.b.reader.readline() == "some data");  // test_readline_eof
        CHECK((co_await q.b.reader.readline()).empty());       // test_readline_empty_eof
        CHECK(q.b.reader.at_eof());
    });
}

TEST_CASE("streams: at_eof() only once EOF came and the buffer is empty (test_at_eof)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        CHECK_FALSE(p.b.reader.at_eof());
        p.a.writer.write("some data\n");
        co_await settle(kind);
        CHECK_FALSE(p.b.reader.at_eof());
        co_await p.b.reader.readline();
        CHECK_FALSE(p.b.reader.at_eof());
        p.a.writer.write("some data\n");
        p.a.writer.close();
        co_await settle(kind);
        CHECK_FALSE(p.b.reader.at_eof());
        co_await p.b.reader.readline();
        CHECK(p.b.reader.at_eof());
    });
}

TEST_CASE("streams: readuntil finds separators split across chunks (test_readuntil_multi_chunks_1)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        CHECK_THROWS_WITH(co_await p.b.reader.readuntil(""), Catch::Contains("Separator should be"));
        co_await feed(p, kind, "lineAAA");
        CHECK(co_await p.b.reader.readuntil("AAA") == "lineAAA");
        co_await feed(p, kind, "lineAAAxxx");
        CHECK(co_await p.b.reader.readuntil("AAA") == "lineAAA");
        CHECK(co_await p.b.reader.readexactly(3) == "xxx");
        co_await feed(p, kind, "QWEaa", "XYaa", "a");
        CHECK(co_await p.b.reader.readuntil("aaa") == "QWEaaXYaaa");
        co_await feed(p, kind, "QWEaa", "XYa", "aa");
        CHECK(co_await p.b.reader.readuntil("aaa") == "QWEaaXYaaa");
        auto t = corio::create_task(p.b.reader.readuntil("aaa"));
        co_await feed(p, kind, "XXX", "a", "a");
        CHECK_FALSE(t.done());
        co_await feed(p, kind, "a");
        CHECK(co_await t == "XXXaaa");
        co_await feed(p, kind, "default sep\n");
        CHECK(co_await p.b.reader.readuntil() == "default sep\n");
        CHECK((co_await rest(p)).empty());
    });
}

TEST_CASE("streams: readuntil at EOF raises IncompleteReadError with the bytes (test_readuntil_eof)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        p.a.writer.write("some dataAA");
        p.a.writer.close();
        std::string partial;
        std::optional<std::size_t> expected = 5;
        std::string what;
        try {
            co_await p.b.reader.readuntil("AAA");
        } catch (const corio::IncompleteReadError& e) {
            partial = e.partial();
            expected = e.expected();
            what = e.what();
        }
        CHECK(partial == "some dataAA");
        CHECK_FALSE(expected.has_value());
        CHECK(what == "11 bytes read on a total of undefined expected bytes");
        CHECK((co_await p.b.reader.read()).empty());
    });
}

TEST_CASE("streams: readuntil past the limit keeps the data (test_readuntil_limit_found_sep)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        // Not found within the limit.
        auto p = co_await make_pair(kind, 3);
        p.a.writer.write("some dataAA");
        co_await settle(kind);
        std::size_t consumed = 0;
        std::string what;
        try {
            co_await p.b.reader.readuntil("AAA");
        } catch (const corio::LimitOverrunError& e) {
            consumed = e.consumed();
            what = e.what();
        }
        CHECK_THAT(what, Catch::Contains("not found"));
        CHECK(consumed == 9);  // asyncio's: len - seplen + 1
        CHECK(co_await rest(p) == "some dataAA");  // still all there

        // Found, but beyond the limit.
        auto q = co_await make_pair(kind, 3);
        q.a.writer.write("some dataAAA");
        co_await settle(kind);
        what.clear();
        try {
            co_await q.b.reader.readuntil("AAA");
        } catch (const corio::LimitOverrunError& e) {
            consumed = e.consumed();
            what = e.what();
        }
        CHECK_THAT(what, Catch::Contains("is found"));
        CHECK(consumed == 9);  // where the separator starts
        CHECK(co_await rest(q) == "some dataAAA");
    });
}

TEST_CASE("streams: readexactly (test_readexactly, _zero_or_less, _eof)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        CHECK((co_await p.b.reader.readexactly(0)).empty());
        CHECK_THROWS_WITH(co_await p.b.reader.readexactly(-1), Catch::Contains("less than zero"));
        auto t = corio::create_task(p.b.reader.readexactly(2 * static_cast<std::ptrdiff_t>(DATA.size())));
        co_await feed(p, kind, DATA);
        CHECK_FALSE(t.done());
        co_await feed(p, kind, DATA, DATA);
        CHECK(co_await t == DATA + DATA);
        CHECK(co_await p.b.reader.readexactly(18) == DATA);

        auto e = corio::create_task(p.b.reader.readexactly(36));
        co_await feed(p, kind, DATA);
        p.a.writer.close();
        std::string partial, what;
        std::optional<std::size_t> expected;
        try {
            co_await e;
        } catch (const corio::IncompleteReadError& x) {
            partial = x.partial();
            expected = x.expected();
            what = x.what();
        }
        CHECK(partial == DATA);
        CHECK(expected == 36u);
        CHECK(what == "18 bytes read on a total of 36 expected bytes");
        CHECK((co_await p.b.reader.read()).empty());
        CHECK(p.b.reader.at_eof());
    });
}

TEST_CASE("streams: set_exception wakes the waiting reader; later reads raise it (test_exception*)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        CHECK_FALSE(p.b.reader.exception());
        p.a.writer.write("line\n");
        CHECK(co_await p.b.reader.readline() == "line\n");
        auto t = corio::create_task(p.b.reader.readline());
        co_await settle(kind);
        p.b.reader.set_exception(std::make_exception_ptr(corio::ValueError("broken")));
        CHECK_THROWS_WITH(co_await t, "broken");
        CHECK_THROWS_WITH(co_await p.b.reader.read(2), "broken");
        CHECK_THROWS_WITH(co_await p.b.reader.readexactly(2), "broken");
        CHECK_THROWS_WITH(co_await p.b.reader.readuntil("x"), "broken");
        CHECK(p.b.reader.exception());
    });
}

TEST_CASE("streams: a cancelled read leaves no waiter behind (test_exception_cancel)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        auto t = corio::create_task(p.b.reader.readline());
        co_await settle(kind);
        t.cancel();
        CHECK(co_await corio_test::ended_cancelled(t));
        p.b.reader.set_exception(std::make_exception_ptr(corio::RuntimeError("message")));
        co_await settle(kind);
        // Nobody waits any more: a new reader is not told another one is waiting.
        p.b.reader.set_exception(nullptr);
        p.a.writer.write("next\n");
        CHECK(co_await p.b.reader.readline() == "next\n");
    });
}

TEST_CASE("streams: two tasks reading one reader at once is a RuntimeError", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        auto first = corio::create_task(p.b.reader.read(10));
        co_await settle(kind);
        CHECK_THROWS_WITH(co_await p.b.reader.readline(), Catch::Contains("another task is already waiting"));
        p.a.writer.write("x");
        CHECK(co_await first == "x");
    });
}

TEST_CASE("streams: many concurrent drains all resume (test_multiple_drain)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind, 16);
        // The reader reads nothing: above its limit the transport stops, the writer's buffer
        // then grows past the high-water mark and drain() waits.
        p.a.writer.set_write_buffer_limits(1024, 256);
        const std::string chunk(64 * 1024, 'z');
        int rounds = 0;
        while (p.a.writer.get_write_buffer_size() <= 1024 && rounds < 1000) {
            p.a.writer.write(chunk);
            co_await settle(kind);
            ++rounds;
        }
        REQUIRE(p.a.writer.get_write_buffer_size() > 1024);
        int drained = 0;
        std::vector<Task<>> drainers;
        for (int i = 0; i < 10; ++i)
            drainers.push_back(corio::create_task([&]() -> Coro<> {
                co_await p.a.writer.drain();
                ++drained;
            }));
        co_await settle(kind);
        CHECK(drained == 0);
        // Reading it all lets the buffer go below the low-water mark.
        const std::size_t sent = static_cast<std::size_t>(rounds) * chunk.size();
        std::size_t got = 0;
        while (got < sent) got += (co_await p.b.reader.read(1 << 20)).size();
        for (auto& d : drainers) co_await d;
        CHECK(drained == 10);
    });
}

TEST_CASE("streams: drain() after the peer went away raises and does not spin (test_drain_raises)", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        p.b.writer.close();  // the peer closes...
        { auto gone = std::move(p.b); }  // ...and goes
        int writes = 0;
        bool raised = false;
        std::string what;
        try {
            for (; writes < 100000; ++writes) {
                p.a.writer.write("foo\n");
                co_await p.a.writer.drain();
                if (kind == PairKind::tcp) co_await corio::sleep(1ms);
            }
        } catch (const corio::ConnectionError& e) {
            raised = true;
            what = e.what();
        }
        CHECK(raised);
        CHECK(writes < 1000);
        INFO(what);
        CHECK_FALSE(what.empty());
        // Later drains raise too, at once.
        CHECK_THROWS_AS(co_await p.a.writer.drain(), corio::ConnectionError);
    });
}

TEST_CASE("streams: write() after close() does nothing; the next drain() raises (test_async_writer_api_exception_after_close)",
          "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        p.a.writer.write("GET\n");
        CHECK(co_await p.b.reader.readline() == "GET\n");
        CHECK_FALSE(p.a.writer.is_closing());
        p.a.writer.close();
        CHECK(p.a.writer.is_closing());
        p.a.writer.write("data");
        CHECK_THROWS_AS(co_await p.a.writer.drain(), corio::ConnectionResetError);
        co_await p.a.writer.wait_closed();
        CHECK((co_await p.b.reader.read()).empty());  // "data" never went out
    });
}

TEST_CASE("streams: wait_closed after close, with unread data, and EOF for the closer's reader (test_wait_closed_on_close*, test_eof_feed_when_closing_writer)",
          "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        p.b.writer.write("unread reply\n");
        co_await settle(kind);
        p.a.writer.close();
        co_await p.a.writer.wait_closed();
        co_await p.a.writer.wait_closed();  // again: at once
        // What arrived before the close can still be read, then EOF.
        CHECK_FALSE(p.a.reader.at_eof());
        CHECK(co_await p.a.reader.read() == "unread reply\n");
        CHECK(p.a.reader.at_eof());
        // The other end sees the close as EOF.
        CHECK((co_await p.b.reader.read()).empty());

        // test_eof_feed_when_closing_writer: nothing unread, so at EOF at once.
        auto q = co_await make_pair(kind);
        q.a.writer.close();
        co_await q.a.writer.wait_closed();
        CHECK(q.a.reader.at_eof());
        CHECK((co_await q.a.reader.read()).empty());
    });
}

TEST_CASE("streams: close() sends what was buffered first; write_eof is a half-close", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        const std::string big(300 * 1024, 'q');
        p.a.writer.write(big);
        p.a.writer.close();
        const std::string got = co_await p.b.reader.read();
        CHECK(got.size() == big.size());
        CHECK(got == big);

        auto q = co_await make_pair(kind);
        CHECK(q.a.writer.can_write_eof());
        q.a.writer.write("request");
        q.a.writer.write_eof();
        CHECK(co_await q.b.reader.read() == "request");  // to EOF
        q.b.writer.write("response");                   // the other way still works
        q.b.writer.close();
        CHECK(co_await q.a.reader.read() == "response");
    });
}

TEST_CASE("streams: dropping an unclosed writer aborts; dropping both handles gives the peer EOF", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        p.a.writer.write("last words\n");
        co_await settle(kind);
        { auto gone = std::move(p.a); }
        CHECK(co_await p.b.reader.readline() == "last words\n");
        CHECK((co_await p.b.reader.read()).empty());
        CHECK(p.b.reader.at_eof());
        // ...and the peer's next write + drain fails.
        p.b.writer.write("anyone?");
        bool reset = false;
        try {
            co_await p.b.writer.drain();
            co_await settle(kind);
            p.b.writer.write("anyone?");
            co_await p.b.writer.drain();
            co_await settle(kind);
            co_await p.b.writer.drain();
        } catch (const corio::ConnectionError&) {
            reset = true;
        }
        CHECK(reset);
    });
}

TEST_CASE("streams: peername and sockname of both ends", "[streams]") {
    for_each_pair_kind([](PairKind kind) -> Coro<> {
        auto p = co_await make_pair(kind);
        const corio::SockAddr a_peer = p.a.writer.peername();
        const corio::SockAddr b_sock = p.b.writer.sockname();
        CHECK(a_peer == b_sock);
        CHECK(p.a.writer.sockname() == p.b.writer.peername());
        if (kind == PairKind::tcp) {
            CHECK(a_peer.host == "127.0.0.1");
            CHECK(a_peer.port == p.server.sockets().at(0).port);
        }
        p.a.writer.close();
        co_await p.a.writer.wait_closed();
        CHECK(p.a.writer.peername() == a_peer);  // still readable after the close
    });
}

TEST_CASE("streams: an empty handle throws InvalidStateError", "[streams]") {
    corio::StreamReader r;
    corio::StreamWriter w;
    CHECK_FALSE(r);
    CHECK_THROWS_AS(r.at_eof(), corio::InvalidStateError);
    CHECK_THROWS_AS(w.write("x"), corio::InvalidStateError);
    CHECK_THROWS_AS(r.read(), corio::InvalidStateError);
}

TEST_CASE("streams: memory pairs on virtual time: a protocol tested without sockets or waiting", "[streams]") {
    // The memory_streams example's shape: a request/response protocol with timeouts, whose
    // virtual seconds take no time.
    run_test([]() -> Coro<> {
        auto pair = corio::memory_stream_pair();  // not a structured binding: clang 14 cannot capture one
        auto& client = pair.first;
        auto& server = pair.second;
        auto server_task = corio::create_task([&]() -> Coro<> {
            for (;;) {
                std::string line = co_await server.reader.readline();
                if (line.empty()) break;
                co_await corio::sleep(2s);  // a slow service
                server.writer.write("ok " + line);
                co_await server.writer.drain();
            }
            server.writer.close();
        });
        client.writer.write("one\n");
        CHECK(co_await corio::wait_for(client.reader.readline(), 5s) == "ok one\n");
        client.writer.write("two\n");
        CHECK_THROWS_AS(co_await corio::wait_for(client.reader.readline(), 1s), corio::TimeoutError);
        CHECK(co_await client.reader.readline() == "ok two\n");  // nothing lost by the timeout
        client.writer.close();
        co_await server_task;
        CHECK((co_await client.reader.read()).empty());
    }());
}

TEST_CASE("streams without sockets: the error names the backend", "[streams]") {
    if (corio_test::backend_name() == "libuv") return;
    run_test([]() -> Coro<> {
        std::string what;
        int code = 0;
        try {
            co_await corio::open_connection("127.0.0.1", 80);
        } catch (const corio::OSError& e) {
            what = e.what();
            code = e.code().value();
        }
        CHECK(code == ENOTSUP);
        CHECK_THAT(what, Catch::Contains("open_connection(): sockets are not available on the " +
                                         corio_test::backend_name() + " backend"));
        CHECK_THROWS_AS(co_await corio::start_server([](corio::StreamReader, corio::StreamWriter) -> Coro<> { co_return; }, "127.0.0.1", 0), corio::OSError);
        // Memory streams work everywhere.
        auto [a, b] = corio::memory_stream_pair();
        a.writer.write("x\n");
        CHECK(co_await b.reader.readline() == "x\n");
    }());
}
