/* Crash consistency of ham_model_save: a child process saves two models in turn, in a
 * loop, to the same path, and is killed with SIGKILL at random moments, many times
 * (about two seconds in all). After every kill the path must hold exactly the bytes of
 * one of the two models (the old file or the new one, never a mixture, never a missing
 * or short file), and the only other file a kill may leave is one temporary file named
 * as ham_model_save documents: PATH.XXXXXX, six characters from [A-Za-z0-9]. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned char *encode(const ham_model_t *m, size_t *len)
{
    TU_OK(ham_model_save_buffer(NULL, len, m));
    unsigned char *buf = malloc(*len);
    ck_assert(buf != NULL);
    TU_OK(ham_model_save_buffer(buf, len, m));
    return buf;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    ck_assert(n >= 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    ck_assert(buf != NULL);
    ck_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* NAME.XXXXXX with six characters of [A-Za-z0-9]: the documented temporary name. */
static int is_temporary(const char *entry, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(entry, name, n) != 0 || entry[n] != '.' || strlen(entry) != n + 7)
        return 0;
    for (size_t i = n + 1; i < n + 7; i++) {
        char c = entry[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/* Removes the temporary files in dir, checking every entry is the target or one; returns
 * how many there were. */
static int sweep(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    ck_assert(d != NULL);
    struct dirent *e;
    int temporaries = 0;
    char p[600];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, name) == 0)
            continue;
        ck_assert_msg(is_temporary(e->d_name, name),
                      "a killed save left '%s', not a documented temporary file", e->d_name);
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        ck_assert(unlink(p) == 0);
        temporaries++;
    }
    closedir(d);
    return temporaries;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* _i: 0 in /tmp (a disk, where fsync takes time), 1 in /dev/shm when there is one (RAM:
 * fast saves, many more kills per second) */
START_TEST(test_killed_saves)
{
    char dir[64];
    struct stat st;
    if (_i == 1 && (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode) ||
                    access("/dev/shm", W_OK) != 0)) {
        printf("crash-save: no writable /dev/shm, skipped\n");
        return;
    }
    strcpy(dir, _i == 1 ? "/dev/shm/hamdeq-crash-XXXXXX" : "/tmp/hamdeq-crash-XXXXXX");
    ck_assert(mkdtemp(dir) != NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/m.ham", dir);
    /* two models of about 1 MB, so that a kill often lands inside a save */
    const int32_t sa[3] = {784, 300, 10}, sb[4] = {784, 280, 20, 10};
    ham_model_t *a = tu_model_new(3, sa, HAM_MODEL_CLAMPED_INPUT, 81, 1.0);
    ham_model_t *b = tu_model_new(4, sb, HAM_MODEL_CLAMPED_INPUT, 82, 1.0);
    size_t la, lb;
    unsigned char *ea = encode(a, &la), *eb = encode(b, &lb);
    /* kills are spread over three times one save's duration, measured here */
    double t_save = now();
    TU_OK(ham_model_save(b, path));
    TU_OK(ham_model_save(a, path));
    t_save = (now() - t_save) / 2;

    tu_rng_t rng;
    tu_rng_seed(&rng, 2024);
    int kills = 0, with_temporary = 0, saw[2] = {0, 0};
    const double t0 = now();
    while (kills < 400 && (kills < 10 || now() - t0 < 1.5)) {
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
            for (unsigned i = 0;; i++)
                if (ham_model_save(i % 2 ? b : a, path) != HAM_OK)
                    _exit(3);
        }
        /* before the first save, inside a write, an fsync, a rename, a later save */
        double delay = kills % 8 == 0 ? 0.0 : tu_uniform(&rng) * 3.0 * t_save;
        if (delay > 0)
            sleep_seconds(delay);
        ck_assert(kill(pid, SIGKILL) == 0);
        int status;
        ck_assert(waitpid(pid, &status, 0) == pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "the saving child stopped by itself (status %d): a save failed", status);
        kills++;

        size_t n;
        unsigned char *got = read_file(path, &n);
        int is_a = n == la && memcmp(got, ea, la) == 0;
        int is_b = n == lb && memcmp(got, eb, lb) == 0;
        ck_assert_msg(is_a || is_b,
                      "after kill %d the file (%zu bytes) is neither model (%zu or %zu bytes)",
                      kills, n, la, lb);
        saw[is_b]++;
        free(got);
        ham_model_t *m = NULL;
        int rc = ham_model_load(&m, path);
        ck_assert_msg(rc == HAM_OK, "after kill %d: %s", kills, ham_last_error());
        ham_model_free(m);
        int left = sweep(dir, "m.ham");
        ck_assert_msg(left <= 1, "kill %d left %d temporary files", kills, left);
        with_temporary += left;
    }
    printf("crash-save (%s, a save takes %.1f ms): %d kills in %.1f s; the file held the "
           "first model %d times, the second %d times; %d kills left a temporary file\n",
           dir, 1e3 * t_save, kills, now() - t0, saw[0], saw[1], with_temporary);
    /* and a save after all that leaves exactly the one file */
    TU_OK(ham_model_save(b, path));
    ck_assert_int_eq(sweep(dir, "m.ham"), 0);
    ck_assert(unlink(path) == 0);
    ck_assert(rmdir(dir) == 0);
    free(ea);
    free(eb);
    ham_model_free(a);
    ham_model_free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crash_save");
    TCase *tc = tu_tcase("crash_save");
    tcase_add_loop_test(tc, test_killed_saves, 0, 2);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
