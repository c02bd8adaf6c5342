/* What the two C clients of the HTTP benchmark (curl_uv.c, raw_uv_http.c) share: the
 * command line, the clocks, the timed window (a warm-up, then D seconds) and the JSON line
 * they print.
 *
 *   PROG --url URL [--concurrency N] [--duration D] [--warmup W] [--server-pid PID]
 *        [--ca-file PEM] [--expect BODY]
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
    const char* url;
    int concurrency;
    double duration, warmup;
    int server_pid;
    const char* ca_file;
    const char* expect;
} bench_args;

static void bench_parse_args(bench_args* a, int argc, char** argv, const char* prog) {
    memset(a, 0, sizeof *a);
    a->concurrency = 1;
    a->duration = 3.0;
    a->warmup = 1.0;
    for (int i = 1; i < argc; ++i) {
        const char* k = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", prog, k);
            exit(2);
        }
        const char* v = argv[++i];
        if (!strcmp(k, "--url")) a->url = v;
        else if (!strcmp(k, "--concurrency")) a->concurrency = atoi(v);
        else if (!strcmp(k, "--duration")) a->duration = atof(v);
        else if (!strcmp(k, "--warmup")) a->warmup = atof(v);
        else if (!strcmp(k, "--server-pid")) a->server_pid = atoi(v);
        else if (!strcmp(k, "--ca-file")) a->ca_file = v;
        else if (!strcmp(k, "--expect")) a->expect = v;
        else {
            fprintf(stderr, "%s: unknown argument %s\n", prog, k);
            exit(2);
        }
    }
    if (!a->url || a->concurrency < 1) {
        fprintf(stderr,
                "usage: %s --url URL [--concurrency N] [--duration D] [--warmup W] [--server-pid PID] [--ca-file PEM] "
                "[--expect BODY]\n",
                prog);
        exit(2);
    }
}

static double bench_self_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of PID in seconds; -1 when unreadable. */
static double bench_proc_cpu(int pid) {
    if (!pid) return -1;
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE* f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char* p = strrchr(buf, ')');
    if (!p) return -1;
    p += 2; /* field 3 */
    unsigned long ut = 0, st = 0;
    for (int field = 3; field < 14 && p; ++field) p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
    if (!p || sscanf(p, "%lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

typedef struct {
    double t, cpu, server;
    uint64_t requests;
} bench_mark;

static void bench_print(const char* client, const bench_args* a, bench_mark m0, bench_mark m1) {
    const double secs = m1.t - m0.t;
    const double server = (m0.server >= 0 && m1.server >= 0) ? (m1.server - m0.server) / secs : -1;
    printf("{\"client\":\"%s\",\"concurrency\":%d,\"seconds\":%.4f,\"requests\":%llu,\"rps\":%.1f,\"client_cpu\":%.3f,"
           "\"server_cpu\":%.3f}\n",
           client, a->concurrency, secs, (unsigned long long)(m1.requests - m0.requests),
           (double)(m1.requests - m0.requests) / secs, (m1.cpu - m0.cpu) / secs, server);
    fflush(stdout);
}

/* The timed window. A client counts finished requests in `completed`, starts
 * bench_window(loop, &args) once its requests are under way, and winds down when `stopping`
 * is set; mark0 and mark1 are the window's ends. */
static bench_args args;
static uint64_t completed;
static int stopping;
static int phase; /* 0 warm-up, 1 timed */
static bench_mark mark0, mark1;
static uv_timer_t phase_timer;

static bench_mark mark_now(void) {
    bench_mark m = {(double)uv_hrtime() / 1e9, bench_self_cpu(), bench_proc_cpu(args.server_pid), completed};
    return m;
}

static void on_phase(uv_timer_t* t) {
    if (phase == 0) {
        phase = 1;
        mark0 = mark_now();
        uv_timer_start(t, on_phase, (uint64_t)(args.duration * 1000), 0);
    } else {
        mark1 = mark_now();
        stopping = 1;
    }
}
