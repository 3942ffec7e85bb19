/*
 * The physical floor of a cross-thread wake-up on this machine, for bench/cross-thread.js: two
 * threads that block in the kernel and wake each other, with nothing else in the way.
 *
 *   pingpong latency eventfd <rounds> <warmup>   ping-pong over two eventfds (blocking read)
 *   pingpong latency condvar <rounds> <warmup>   ping-pong over a mutex and two condition variables
 *   pingpong latency inbox-locked <rounds> <warmup>
 *   pingpong latency inbox-unlocked <rounds> <warmup>
 *                                                evloop's own design, without evloop: a mutex-guarded
 *                                                inbox whose first item writes an eventfd the other
 *                                                thread waits on with epoll_wait; the write done with
 *                                                the mutex held (as native/core/inbox.cc does) or
 *                                                after releasing it
 *   pingpong burst <messages>                    a producer pushes small items into a mutex-guarded
 *                                                queue, waking the consumer when it was empty (as
 *                                                evloop's inbox does); the consumer takes all at once
 *
 * Prints one JSON line: latency {"p50":us,"p99":us,"mean":us} per hop (half a round trip);
 * burst {"rate":items/s}.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static long rounds_total;

/* ---- eventfd ---------------------------------------------------------------------------------- */

static int efd_ping, efd_pong;

static void* efd_echo(void* arg) {
  uint64_t v;
  for (long i = 0; i < rounds_total; i++) {
    if (read(efd_ping, &v, sizeof v) != sizeof v) abort();
    v = 1;
    if (write(efd_pong, &v, sizeof v) != sizeof v) abort();
  }
  return NULL;
}

static void efd_round(void) {
  uint64_t v = 1;
  if (write(efd_ping, &v, sizeof v) != sizeof v) abort();
  if (read(efd_pong, &v, sizeof v) != sizeof v) abort();
}

/* ---- condition variables ---------------------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_ping = PTHREAD_COND_INITIALIZER, cv_pong = PTHREAD_COND_INITIALIZER;
static int turn = 0; /* 0: the main thread's, 1: the echo thread's */

static void* cv_echo(void* arg) {
  for (long i = 0; i < rounds_total; i++) {
    pthread_mutex_lock(&mu);
    while (turn != 1) pthread_cond_wait(&cv_ping, &mu);
    turn = 0;
    pthread_cond_signal(&cv_pong);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

static void cv_round(void) {
  pthread_mutex_lock(&mu);
  turn = 1;
  pthread_cond_signal(&cv_ping);
  while (turn != 0) pthread_cond_wait(&cv_pong, &mu);
  pthread_mutex_unlock(&mu);
}

/* ---- an inbox as evloop's: mutex-guarded, eventfd wake on the first item, epoll wait ---------- */

typedef struct {
  pthread_mutex_t mu;
  int efd, ep;
  long items;
} inbox;

static int wake_under_lock;
static inbox in_ping, in_pong;

static void inbox_init(inbox* in) {
  pthread_mutex_init(&in->mu, NULL);
  in->efd = eventfd(0, EFD_NONBLOCK);
  in->ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(in->ep, EPOLL_CTL_ADD, in->efd, &ev);
  in->items = 0;
}

static void inbox_push(inbox* in) {
  uint64_t v = 1;
  pthread_mutex_lock(&in->mu);
  int was_empty = in->items++ == 0;
  if (was_empty && wake_under_lock && write(in->efd, &v, sizeof v) != sizeof v) abort();
  pthread_mutex_unlock(&in->mu);
  if (was_empty && !wake_under_lock && write(in->efd, &v, sizeof v) != sizeof v) abort();
}

static void inbox_take(inbox* in) {
  for (;;) {
    pthread_mutex_lock(&in->mu);
    long n = in->items;
    in->items = 0;
    pthread_mutex_unlock(&in->mu);
    if (n > 0) return;
    struct epoll_event ev;
    uint64_t v;
    epoll_wait(in->ep, &ev, 1, -1);
    if (read(in->efd, &v, sizeof v) < 0) { /* EAGAIN: raced, look again */ }
  }
}

static void* inbox_echo(void* arg) {
  for (long i = 0; i < rounds_total; i++) {
    inbox_take(&in_ping);
    inbox_push(&in_pong);
  }
  return NULL;
}

static void inbox_round(void) {
  inbox_push(&in_ping);
  inbox_take(&in_pong);
}

/* ---- burst ------------------------------------------------------------------------------------- */

typedef struct item {
  struct item* next;
  long value;
} item;

static item* head = NULL;
static item** tail = &head;
static pthread_cond_t cv_items = PTHREAD_COND_INITIALIZER;
static long burst_n;

static void* producer(void* arg) {
  for (long i = 0; i < burst_n; i++) {
    item* it = malloc(sizeof *it);
    it->next = NULL;
    it->value = i;
    pthread_mutex_lock(&mu);
    int was_empty = head == NULL;
    *tail = it;
    tail = &it->next;
    if (was_empty) pthread_cond_signal(&cv_items);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "burst") == 0) {
    burst_n = atol(argv[2]);
    pthread_t t;
    double t0 = now_us();
    pthread_create(&t, NULL, producer, NULL);
    long got = 0, sum = 0;
    while (got < burst_n) {
      pthread_mutex_lock(&mu);
      while (head == NULL) pthread_cond_wait(&cv_items, &mu);
      item* batch = head;
      head = NULL;
      tail = &head;
      pthread_mutex_unlock(&mu);
      while (batch != NULL) {
        item* next = batch->next;
        sum += batch->value;
        free(batch);
        batch = next;
        got++;
      }
    }
    double t1 = now_us();
    pthread_join(t, NULL);
    printf("{\"rate\":%.0f,\"check\":%ld}\n", burst_n / ((t1 - t0) / 1e6), sum);
    return 0;
  }
  if (argc < 5 || strcmp(argv[1], "latency") != 0) {
    fprintf(stderr, "usage: pingpong latency eventfd|condvar|inbox-locked|inbox-unlocked <rounds> <warmup> | pingpong burst <n>\n");
    return 2;
  }
  int use_efd = strcmp(argv[2], "eventfd") == 0;
  int use_inbox = strncmp(argv[2], "inbox", 5) == 0;
  wake_under_lock = strcmp(argv[2], "inbox-locked") == 0;
  long rounds = atol(argv[3]), warmup = atol(argv[4]);
  rounds_total = rounds + warmup;
  double* hops = malloc(sizeof(double) * (size_t)rounds);
  pthread_t t;
  if (use_inbox) {
    inbox_init(&in_ping);
    inbox_init(&in_pong);
    pthread_create(&t, NULL, inbox_echo, NULL);
  } else if (use_efd) {
    efd_ping = eventfd(0, 0);
    efd_pong = eventfd(0, 0);
    pthread_create(&t, NULL, efd_echo, NULL);
  } else {
    pthread_create(&t, NULL, cv_echo, NULL);
  }
  double sum = 0;
  for (long i = 0; i < rounds_total; i++) {
    double t0 = now_us();
    if (use_inbox) inbox_round();
    else if (use_efd) efd_round();
    else cv_round();
    double hop = (now_us() - t0) / 2;
    if (i >= warmup) {
      hops[i - warmup] = hop;
      sum += hop;
    }
  }
  pthread_join(t, NULL);
  qsort(hops, (size_t)rounds, sizeof(double), cmp_double);
  double p50 = hops[(long)(0.50 * rounds)], p99 = hops[(long)(0.99 * rounds)];
  printf("{\"p50\":%.3f,\"p99\":%.3f,\"mean\":%.3f}\n", p50, p99, sum / rounds);
  return 0;
}
