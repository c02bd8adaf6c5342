/* The other floor of corio's plain http: an HTTP/1.1 keep-alive client written directly on
 * libuv in C. C connections to the URL's host:port, each writing
 *     "GET PATH HTTP/1.1\r\nHost: HOST:PORT\r\n\r\n"
 * (uv_try_write, uv_write for what is left), reading until the whole response is in (the
 * header block up to CRLFCRLF, then Content-Length bytes of body), and writing the next
 * request. TCP_NODELAY; reads land in one shared buffer and are copied into the connection's
 * small buffer only when a response arrives in pieces. After a warm-up of W s it counts the
 * responses completed in the next D s, lets every connection finish the one it is in, and
 * prints one JSON line (see http_common.h). Only http://127.0.0.1-style URLs (an IPv4 address).
 *
 *   raw_uv_http --url http://127.0.0.1:PORT/PATH [--concurrency N] [--duration D]
 *               [--warmup W] [--server-pid PID] [--expect BODY]
 */
#include <uv.h>

#include <ctype.h>
#include <errno.h>
#include <strings.h>

#include "http_common.h"

#define CONN_BUF 8192

typedef struct {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    char buf[CONN_BUF]; /* a response that came in pieces */
    size_t len;
    int closed;
} conn_t;

static uv_loop_t* loop;
static conn_t* conns;
static char request[1024];
static size_t request_len;
static char shared[64 * 1024];
static int n_closed, checked;

static void die(const char* what, int rc) {
    fprintf(stderr, "raw_uv_http: %s: %s\n", what, uv_strerror(rc));
    exit(1);
}

static void on_closed(uv_handle_t* h) {
    (void)h;
    if (++n_closed == args.concurrency) uv_close((uv_handle_t*)&phase_timer, NULL);
}

static void on_written(uv_write_t* req, int status) {
    (void)req;
    if (status < 0) die("write", status);
}

static void send_request(conn_t* c) {
    uv_buf_t b = uv_buf_init(request, (unsigned)request_len);
    int n = uv_try_write((uv_stream_t*)&c->tcp, &b, 1);
    if (n == (int)request_len) return;
    if (n < 0 && n != UV_EAGAIN) die("try_write", n);
    if (n < 0) n = 0;
    b = uv_buf_init(request + n, (unsigned)(request_len - (size_t)n));
    int rc = uv_write(&c->write_req, (uv_stream_t*)&c->tcp, &b, 1, on_written);
    if (rc) die("write", rc);
}

/* The length of the complete response at the start of p[0..n), 0 while it is incomplete. */
static size_t response_length(const char* p, size_t n, const char** body, size_t* body_len) {
    const char* end = NULL;
    for (size_t i = 3; i < n; ++i)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r') {
            end = p + i + 1;
            break;
        }
    if (!end) return 0;
    size_t content_length = 0;
    for (const char* line = p; line < end;) {
        const char* eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) break;
        if ((size_t)(eol - line) > 15 && !strncasecmp(line, "Content-Length:", 15)) {
            const char* v = line + 15;
            while (*v == ' ' || *v == '\t') ++v;
            content_length = strtoull(v, NULL, 10);
        }
        line = eol + 1;
    }
    size_t head = (size_t)(end - p);
    if (n < head + content_length) return 0;
    *body = end;
    *body_len = content_length;
    return head + content_length;
}

static void complete(conn_t* c, const char* p, const char* body, size_t body_len) {
    if (!checked) {
        if (strncmp(p, "HTTP/1.1 200", 12) ||
            (args.expect && (body_len != strlen(args.expect) || memcmp(body, args.expect, body_len)))) {
            fprintf(stderr, "raw_uv_http: an unexpected response: %.*s\n", (int)(body - p + (long)body_len), p);
            exit(1);
        }
        checked = 1;
    }
    ++completed;
    if (stopping) {
        c->closed = 1;
        uv_close((uv_handle_t*)&c->tcp, on_closed);
    } else {
        send_request(c);
    }
}

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* b) {
    (void)h, (void)suggested;
    *b = uv_buf_init(shared, sizeof shared);
}

static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* b) {
    conn_t* c = (conn_t*)s;
    if (nread == 0) return;
    if (nread < 0) die("read", (int)nread);
    if (c->closed) return;
    const char* body;
    size_t body_len, used;
    if (c->len == 0) { /* the usual case: the whole response in one read */
        used = response_length(b->base, (size_t)nread, &body, &body_len);
        if (used == (size_t)nread) {
            complete(c, b->base, body, body_len);
            return;
        }
        if (used) die("read", UV_EPROTO); /* bytes past the response: nobody pipelines here */
    }
    if (c->len + (size_t)nread > CONN_BUF) die("a response larger than the buffer", UV_ENOBUFS);
    memcpy(c->buf + c->len, b->base, (size_t)nread);
    c->len += (size_t)nread;
    used = response_length(c->buf, c->len, &body, &body_len);
    if (!used) return;
    if (used != c->len) die("read", UV_EPROTO);
    c->len = 0;
    complete(c, c->buf, body, body_len);
}

static void on_connect(uv_connect_t* req, int status) {
    conn_t* c = req->data;
    if (status < 0) die("connect", status);
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
    if (rc) die("read_start", rc);
    send_request(c);
}

int main(int argc, char** argv) {
    bench_parse_args(&args, argc, argv, "raw_uv_http");
    char host[256], path[512] = "/";
    int port = 80;
    if (sscanf(args.url, "http://%255[^:/]:%d%511s", host, &port, path) < 2 &&
        sscanf(args.url, "http://%255[^:/]%511s", host, path) < 1) {
        fprintf(stderr, "raw_uv_http: cannot parse %s\n", args.url);
        return 2;
    }
    request_len = (size_t)snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path, host, port);

    loop = uv_default_loop();
    struct sockaddr_in addr;
    int rc = uv_ip4_addr(host, port, &addr);
    if (rc) die("address", rc);
    conns = calloc((size_t)args.concurrency, sizeof *conns);
    for (int i = 0; i < args.concurrency; ++i) {
        conn_t* c = &conns[i];
        uv_tcp_init(loop, &c->tcp);
        c->connect_req.data = c;
        rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr*)&addr, on_connect);
        if (rc) die("connect", rc);
    }
    uv_timer_init(loop, &phase_timer);
    uv_timer_start(&phase_timer, on_phase, (uint64_t)(args.warmup * 1000), 0);
    uv_run(loop, UV_RUN_DEFAULT);
    bench_print("raw_uv_http", &args, mark0, mark1);
    return 0;
}
