/* The floor of corio's https (and of any HTTP client built on libcurl): raw libcurl multi on
 * libuv in C, the pattern of curl's docs/examples/multi-uv.c: CURLMOPT_SOCKETFUNCTION arms a
 * uv_poll per socket, CURLMOPT_TIMERFUNCTION one uv_timer, and the uv callbacks call
 * curl_multi_socket_action. Two differences from the example, both to make it a floor:
 * - a 0 ms timeout is a 0 ms uv_timer (it runs on the next loop turn), not rounded up to
 *   1 ms as the example does (which caps one stream of requests at ~1k/s);
 * - a socket's uv_poll is stopped on CURL_POLL_REMOVE but kept until curl closes the socket
 *   (CURLOPT_CLOSESOCKETFUNCTION), instead of being closed and made anew for every transfer
 *   on a kept-alive connection (curl 7.88 says REMOVE when a transfer ends).
 * C easy handles, made once and re-added after each completion (curl keeps the connections
 * alive in the multi's cache). The body is discarded (the first one is checked with
 * --expect). After a warm-up of W s it counts the transfers completed in the next D s, lets
 * the ones in flight finish and prints one JSON line (see http_common.h).
 *
 *   curl_uv --url URL [--concurrency N] [--duration D] [--warmup W] [--server-pid PID]
 *           [--ca-file PEM] [--expect BODY]
 */
#include <curl/curl.h>
#include <uv.h>

#include <sys/socket.h>

#include "http_common.h"

#define MAX_FD 65536

typedef struct {
    CURL* easy;
    char body[256];
    size_t body_len;
} handle_t;

static uv_loop_t* loop;
static CURLM* multi;
static uv_timer_t timeout_timer;
static uv_poll_t* polls[MAX_FD]; /* by fd: made at the first POLL_IN/OUT, closed with the socket */
static handle_t* handles;
static int running_handles; /* in the multi */
static int checked;

static size_t on_write(char* data, size_t size, size_t n, void* userp) {
    handle_t* h = userp;
    size_t len = size * n;
    if (!checked && h->body_len + len < sizeof h->body) {
        memcpy(h->body + h->body_len, data, len);
        h->body_len += len;
    }
    return len;
}

static void check_multi_info(void) {
    CURLMsg* m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL* e = m->easy_handle;
        handle_t* h;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char**)&h);
        if (m->data.result != CURLE_OK) {
            fprintf(stderr, "curl_uv: %s\n", curl_easy_strerror(m->data.result));
            exit(1);
        }
        if (!checked) {
            long status = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            h->body[h->body_len] = 0;
            if (status != 200 || (args.expect && strcmp(h->body, args.expect))) {
                fprintf(stderr, "curl_uv: status %ld, body '%s', expected '%s'\n", status, h->body, args.expect ? args.expect : "");
                exit(1);
            }
            checked = 1;
        }
        ++completed;
        curl_multi_remove_handle(multi, e);
        --running_handles;
        if (!stopping) {
            curl_multi_add_handle(multi, e); /* the same handle again: curl reuses the connection */
            ++running_handles;
        }
    }
    if (stopping && running_handles == 0) uv_stop(loop);
}

static void on_poll(uv_poll_t* p, int status, int events) {
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    int running;
    curl_multi_socket_action(multi, (curl_socket_t)(intptr_t)p->data, flags, &running);
    check_multi_info();
}

static void on_timeout(uv_timer_t* t) {
    (void)t;
    int running;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info();
}

/* curl's timer: arm or stop the one uv_timer; 0 ms is a 0 ms timer (the next loop turn). */
static int on_curl_timer(CURLM* m, long timeout_ms, void* userp) {
    (void)m, (void)userp;
    if (timeout_ms < 0) uv_timer_stop(&timeout_timer);
    else uv_timer_start(&timeout_timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* curl's socket callback: start, change or stop the socket's uv_poll. */
static int on_curl_socket(CURL* e, curl_socket_t s, int action, void* userp, void* socketp) {
    (void)e, (void)userp, (void)socketp;
    if (s < 0 || s >= MAX_FD) return -1;
    if (action == CURL_POLL_REMOVE) {
        if (polls[s]) uv_poll_stop(polls[s]);
        return 0;
    }
    if (!polls[s]) {
        polls[s] = malloc(sizeof(uv_poll_t));
        uv_poll_init_socket(loop, polls[s], s);
        polls[s]->data = (void*)(intptr_t)s;
    }
    int events = 0;
    if (action != CURL_POLL_IN) events |= UV_WRITABLE;
    if (action != CURL_POLL_OUT) events |= UV_READABLE;
    uv_poll_start(polls[s], events, on_poll);
    return 0;
}

static void free_handle(uv_handle_t* h) { free(h); }

/* The poll is stopped and closing before the fd goes (libuv must not poll a closed fd). */
static int on_close_socket(void* clientp, curl_socket_t s) {
    (void)clientp;
    if (s >= 0 && s < MAX_FD && polls[s]) {
        uv_poll_stop(polls[s]);
        uv_close((uv_handle_t*)polls[s], free_handle);
        polls[s] = NULL;
    }
    return close(s);
}

static curl_socket_t on_open_socket(void* clientp, curlsocktype purpose, struct curl_sockaddr* a) {
    (void)clientp, (void)purpose;
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

int main(int argc, char** argv) {
    bench_parse_args(&args, argc, argv, "curl_uv");
    loop = uv_default_loop();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    uv_timer_init(loop, &timeout_timer);
    uv_timer_init(loop, &phase_timer);

    handles = calloc((size_t)args.concurrency, sizeof *handles);
    for (int i = 0; i < args.concurrency; ++i) {
        CURL* e = curl_easy_init();
        handles[i].easy = e;
        curl_easy_setopt(e, CURLOPT_URL, args.url);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &handles[i]);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &handles[i]);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
        curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
        if (args.ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, args.ca_file);
        curl_multi_add_handle(multi, e);
        ++running_handles;
    }
    uv_timer_start(&phase_timer, on_phase, (uint64_t)(args.warmup * 1000), 0);
    uv_run(loop, UV_RUN_DEFAULT);
    bench_print("curl_uv", &args, mark0, mark1);

    for (int i = 0; i < args.concurrency; ++i) curl_easy_cleanup(handles[i].easy);
    curl_multi_cleanup(multi); /* closes the cached connections through on_close_socket */
    uv_close((uv_handle_t*)&timeout_timer, NULL);
    uv_close((uv_handle_t*)&phase_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    curl_global_cleanup();
    return 0;
}
