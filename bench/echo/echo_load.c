/* The echo benchmark's load generator, on libuv: C connections to 127.0.0.1:PORT, each
 * playing ping-pong (send S bytes, wait until S bytes have come back, repeat). After a
 * warm-up of W seconds (echoes checked byte for byte) it counts the round trips completed
 * in the next D seconds, then lets every connection finish its round trip and closes it
 * cleanly (FIN, no reset), and prints one JSON line:
 *
 *   {"connections":C,"size":S,"seconds":..,"msgs":..,"msgs_per_s":..,"client_cpu":..,
 *    "server_cpu":..,"server_cpu_us_per_msg":..,"other_cpu":..}
 *
 * client_cpu is this process's CPU time over the window / the window (1.0: it was the
 * bottleneck); with --server-pid PID, server_cpu is the same for the server, read from
 * /proc/PID/stat; other_cpu is what every other user process took over the window (the
 * sum of utime + stime + cutime + cstime in /proc/N/stat for all N but the two and kernel
 * threads: a process that ends inside the window moves its time to its parent's cutime,
 * so short-lived compiler processes count too): a busy machine skews the figures, and --signal-server sends the server SIGUSR1 when the window opens and
 * SIGUSR2 when it closes (corio_echo --count-allocs counts its allocations in between).
 *
 *   echo_load --port P [--connections C] [--size S] [--duration D] [--warmup W]
 *             [--server-pid PID] [--signal-server]
 *
 * Writes go through uv_try_write first and uv_write for what is left (the payload is one
 * static buffer, so nothing is copied); reads land in one shared buffer. TCP_NODELAY.
 */
#include <uv.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_SIZE (16u << 20)

typedef struct {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    size_t received; /* bytes of the current message that came back */
    uint64_t msgs;   /* round trips completed */
    int connected;
    int done;        /* finished its last round trip and was closed */
} conn_t;

static uv_loop_t* loop;
static conn_t* conns;
static int n_conns = 1;
static size_t size = 1024;
static double duration = 3.0, warmup = 0.5;
static int server_pid = 0, signal_server = 0;
static char* payload;
static char read_buf[64 * 1024];
static int phase; /* 0 connecting, 1 warm-up (checked), 2 timed, 3 stopping */
static int n_connected, n_done;
static uv_timer_t timer;
static uint64_t t_start, t_end, msgs_start, msgs_end;
static double cpu_start, cpu_end, srv_start = -1, srv_end = -1, all_start = -1, all_end = -1;

static void die(const char* what, int rc) {
    fprintf(stderr, "echo_load: %s: %s\n", what, rc ? uv_strerror(rc) : strerror(errno));
    exit(1);
}

static double self_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of the server, in seconds; -1 when unreadable. */
static double server_cpu(void) {
    if (!server_pid) return -1;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", server_pid);
    FILE* f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char* p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) return -1;
    unsigned long utime = 0, stime = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of every user process but this one and the server, their reaped children
 * included; -1 when /proc is unreadable. */
static double others_cpu(void) {
    DIR* d = opendir("/proc");
    if (!d) return -1;
    unsigned long long ticks = 0;
    struct dirent* e;
    while ((e = readdir(d))) {
        const int pid = atoi(e->d_name);
        if (pid <= 0 || pid == (int)getpid() || pid == server_pid) continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE* f = fopen(path, "r");
        if (!f) continue;  /* gone meanwhile */
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char* p = strrchr(buf, ')');
        unsigned long flags = 0;
        unsigned long long ut = 0, st = 0, cut = 0, cst = 0;
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u %llu %llu %llu %llu", &flags, &ut, &st,
                         &cut, &cst) != 5)
            continue;
        if (flags & 0x00200000) continue; /* PF_KTHREAD: the kernel's own (softirq work is ours) */
        ticks += ut + st + cut + cst;
    }
    closedir(d);
    return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static uint64_t total_msgs(void) {
    uint64_t t = 0;
    for (int i = 0; i < n_conns; ++i) t += conns[i].msgs;
    return t;
}

static void on_closed(uv_handle_t* h) {
    (void)h;
    if (++n_done == n_conns) uv_stop(loop);
}

static void finish(conn_t* c) {
    if (c->done) return;
    c->done = 1;
    uv_read_stop((uv_stream_t*)&c->tcp);
    uv_close((uv_handle_t*)&c->tcp, on_closed);
}

static void on_written(uv_write_t* req, int status) {
    if (status < 0 && status != UV_ECANCELED) die("write", status);
    (void)req;
}

static void send_message(conn_t* c) {
    c->received = 0;
    uv_buf_t buf = uv_buf_init(payload, (unsigned)size);
    int n = uv_try_write((uv_stream_t*)&c->tcp, &buf, 1);
    if (n == UV_EAGAIN) n = 0;
    if (n < 0) die("uv_try_write", n);
    if ((size_t)n == size) return;
    /* The rest from the static payload: at most one write is in flight per connection,
     * since the next message goes only after this one has come back whole. */
    buf = uv_buf_init(payload + n, (unsigned)(size - (size_t)n));
    int rc = uv_write(&c->write_req, (uv_stream_t*)&c->tcp, &buf, 1, on_written);
    if (rc < 0) die("uv_write", rc);
}

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    conn_t* c = (conn_t*)s->data;
    if (n == 0) return;
    if (n < 0) {
        fprintf(stderr, "echo_load: read: %s (after %llu round trips)\n", uv_strerror((int)n),
                (unsigned long long)c->msgs);
        exit(1);
    }
    if (c->received + (size_t)n > size) {
        fprintf(stderr, "echo_load: %zu bytes came back for a message of %zu\n", c->received + (size_t)n, size);
        exit(1);
    }
    if (phase == 1 && memcmp(buf->base, payload + c->received, (size_t)n) != 0) {
        fprintf(stderr, "echo_load: the echo differs from what was sent\n");
        exit(1);
    }
    c->received += (size_t)n;
    if (c->received < size) return;
    c->msgs++;
    if (phase == 3)
        finish(c);
    else
        send_message(c);
}

static void on_timer(uv_timer_t* t) {
    if (phase == 1) { /* warm-up over: open the window */
        phase = 2;
        if (signal_server && server_pid) kill(server_pid, SIGUSR1);
        srv_start = server_cpu();
        all_start = others_cpu();
        cpu_start = self_cpu();
        msgs_start = total_msgs();
        t_start = uv_hrtime();
        uv_timer_start(t, on_timer, (uint64_t)(duration * 1000), 0);
    } else if (phase == 2) { /* close the window; every connection finishes its round trip */
        t_end = uv_hrtime();
        msgs_end = total_msgs();
        cpu_end = self_cpu();
        srv_end = server_cpu();
        all_end = others_cpu();
        if (signal_server && server_pid) kill(server_pid, SIGUSR2);
        phase = 3;
        uv_close((uv_handle_t*)t, NULL);
    }
}

static void on_connect(uv_connect_t* req, int status) {
    conn_t* c = (conn_t*)req->data;
    if (status < 0) die("connect", status);
    uv_tcp_nodelay(&c->tcp, 1);
    c->connected = 1;
    int rc = uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
    if (rc < 0) die("uv_read_start", rc);
    if (++n_connected == n_conns) { /* everybody starts together */
        phase = 1;
        for (int i = 0; i < n_conns; ++i) send_message(&conns[i]);
        uv_timer_start(&timer, on_timer, (uint64_t)(warmup * 1000), 0);
    }
}

static void usage(void) {
    fprintf(stderr,
            "usage: echo_load --port P [--connections C] [--size S] [--duration D] [--warmup W]\n"
            "                 [--server-pid PID] [--signal-server]\n");
    exit(2);
}

int main(int argc, char** argv) {
    int port = 0;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--signal-server")) {
            signal_server = 1;
            continue;
        }
        if (!v) usage();
        if (!strcmp(a, "--port"))
            port = atoi(v);
        else if (!strcmp(a, "--connections"))
            n_conns = atoi(v);
        else if (!strcmp(a, "--size"))
            size = (size_t)atol(v);
        else if (!strcmp(a, "--duration"))
            duration = atof(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(a, "--server-pid"))
            server_pid = atoi(v);
        else
            usage();
        ++i;
    }
    if (port <= 0 || n_conns <= 0 || size == 0 || size > MAX_SIZE || duration <= 0 || warmup < 0) usage();
    signal(SIGPIPE, SIG_IGN);

    payload = malloc(size);
    conns = calloc((size_t)n_conns, sizeof *conns);
    if (!payload || !conns) die("malloc", 0);
    for (size_t i = 0; i < size; ++i) payload[i] = (char)('a' + (i * 7 + i / 26) % 26);

    loop = uv_default_loop();
    uv_timer_init(loop, &timer);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    for (int i = 0; i < n_conns; ++i) {
        conn_t* c = &conns[i];
        uv_tcp_init(loop, &c->tcp);
        c->tcp.data = c;
        c->connect_req.data = c;
        int rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr*)&addr, on_connect);
        if (rc < 0) die("uv_tcp_connect", rc);
    }
    uv_run(loop, UV_RUN_DEFAULT);

    const double secs = (double)(t_end - t_start) / 1e9;
    const uint64_t msgs = msgs_end - msgs_start;
    printf("{\"connections\":%d,\"size\":%zu,\"seconds\":%.3f,\"msgs\":%llu,\"msgs_per_s\":%.1f,\"client_cpu\":%.3f",
           n_conns, size, secs, (unsigned long long)msgs, (double)msgs / secs, (cpu_end - cpu_start) / secs);
    if (srv_start >= 0 && srv_end >= 0)
        printf(",\"server_cpu\":%.3f,\"server_cpu_us_per_msg\":%.3f", (srv_end - srv_start) / secs,
               msgs ? (srv_end - srv_start) * 1e6 / (double)msgs : 0.0);
    if (all_start >= 0 && all_end >= 0) printf(",\"other_cpu\":%.3f", (all_end - all_start) / secs);
    printf("}\n");
    return 0;
}
