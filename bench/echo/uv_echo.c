/* The floor of the echo benchmark: a TCP echo server in plain C on libuv, as a careful
 * hand-written one would be. 127.0.0.1:PORT, TCP_NODELAY, one 64 KiB read buffer per
 * connection (allocated with it), every read echoed with uv_try_write first; whatever the
 * kernel did not take is copied into the connection's pending buffer and sent with one
 * uv_write at a time (two buffers swapped, so they keep their capacity: no malloc per
 * message once a connection is warm). Reading stops while more than 1 MiB waits to be
 * sent and resumes when it has gone.
 *
 *   uv_echo PORT
 */
#include <uv.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_BUF (64 * 1024)
#define PAUSE_ABOVE (1u << 20)

typedef struct {
    char* data;
    size_t len, cap;
} buf_t;

typedef struct {
    uv_tcp_t tcp;
    uv_write_t write_req;
    buf_t pending;  /* bytes waiting for the write in flight */
    buf_t inflight; /* the bytes of the write in flight */
    int writing;
    int reading;
    int closing;
    int eof; /* the peer is done: close once everything is sent */
    char read_buf[READ_BUF];
} conn_t;

static uv_loop_t* loop;

static void buf_append(buf_t* b, const char* p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char* d = realloc(b->data, cap);
        if (!d) abort();
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void on_closed(uv_handle_t* h) {
    conn_t* c = (conn_t*)h->data;
    free(c->pending.data);
    free(c->inflight.data);
    free(c);
}

static void close_conn(conn_t* c) {
    if (c->closing) return;
    c->closing = 1;
    uv_close((uv_handle_t*)&c->tcp, on_closed);
}

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
    (void)suggested;
    conn_t* c = (conn_t*)h->data;
    *buf = uv_buf_init(c->read_buf, READ_BUF);
}

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);

static void start_reading(conn_t* c) {
    if (c->reading || c->closing || c->eof) return;
    c->reading = 1;
    uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
}

static void flush(conn_t* c);

static void on_written(uv_write_t* req, int status) {
    conn_t* c = (conn_t*)req->handle->data;
    c->writing = 0;
    c->inflight.len = 0;
    if (status < 0) {
        close_conn(c);
        return;
    }
    if (c->pending.len)
        flush(c);
    else if (c->eof)
        close_conn(c);
    if (c->pending.len <= PAUSE_ABOVE) start_reading(c);
}

static void flush(conn_t* c) {
    if (c->writing || !c->pending.len || c->closing) return;
    buf_t t = c->inflight; /* swap: the emptied buffer keeps its capacity */
    c->inflight = c->pending;
    c->pending = t;
    c->writing = 1;
    uv_buf_t b = uv_buf_init(c->inflight.data, (unsigned)c->inflight.len);
    if (uv_write(&c->write_req, (uv_stream_t*)&c->tcp, &b, 1, on_written) < 0) {
        c->writing = 0;
        close_conn(c);
    }
}

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    conn_t* c = (conn_t*)s->data;
    if (n == 0) return;
    if (n < 0) { /* EOF (close once the echo is out) or an error */
        c->eof = 1;
        uv_read_stop(s);
        if (n != UV_EOF || (!c->writing && !c->pending.len)) close_conn(c);
        return;
    }
    const char* p = buf->base;
    size_t len = (size_t)n;
    if (!c->writing && !c->pending.len) {
        uv_buf_t b = uv_buf_init((char*)p, (unsigned)len);
        int w = uv_try_write(s, &b, 1);
        if (w == UV_EAGAIN) w = 0;
        if (w < 0) {
            close_conn(c);
            return;
        }
        p += w;
        len -= (size_t)w;
        if (!len) return;
    }
    buf_append(&c->pending, p, len); /* the read buffer is reused: copy what is left */
    flush(c);
    if (c->pending.len > PAUSE_ABOVE) {
        c->reading = 0;
        uv_read_stop(s);
    }
}

static void on_connection(uv_stream_t* server, int status) {
    if (status < 0) return;
    conn_t* c = calloc(1, sizeof *c);
    if (!c) abort();
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t*)&c->tcp) != 0) {
        close_conn(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    start_reading(c);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: uv_echo PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
    int rc = uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t*)&server, 1024, on_connection);
    if (rc < 0) {
        fprintf(stderr, "uv_echo: listen on 127.0.0.1:%s: %s\n", argv[1], uv_strerror(rc));
        return 1;
    }
    printf("uv_echo: serving on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
