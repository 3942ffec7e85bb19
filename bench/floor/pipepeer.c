/*
 * The other end of the pipes in bench/pipe-readiness.js, in C so that it is never the slower side.
 *
 *   pipepeer write <data-fifo> <go-fifo> <count> <size>
 *       waits for one byte on <go-fifo>, then writes <count> messages of <size> bytes into
 *       <data-fifo>, one write(2) each (blocking when the pipe is full), and closes it.
 *   pipepeer echo <in-fifo> <out-fifo>
 *       copies what arrives on <in-fifo> to <out-fifo> as it arrives, until end of file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      perror("pipepeer: write");
      exit(1);
    }
    p += k;
    n -= (size_t)k;
  }
}

int main(int argc, char** argv) {
  if (argc == 6 && strcmp(argv[1], "write") == 0) {
    int go = open(argv[3], O_RDONLY);
    char c;
    if (go < 0 || read(go, &c, 1) != 1) {
      perror("pipepeer: go");
      return 1;
    }
    int fd = open(argv[2], O_WRONLY);
    if (fd < 0) {
      perror("pipepeer: open");
      return 1;
    }
    long count = atol(argv[4]);
    size_t size = (size_t)atol(argv[5]);
    char* msg = malloc(size);
    for (long i = 0; i < count; i++) {
      memset(msg, 'a' + (int)(i % 26), size);
      write_all(fd, msg, size);
    }
    close(fd);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "echo") == 0) {
    int in = open(argv[2], O_RDONLY);
    int out = open(argv[3], O_WRONLY);
    if (in < 0 || out < 0) {
      perror("pipepeer: open");
      return 1;
    }
    char buf[65536];
    for (;;) {
      ssize_t n = read(in, buf, sizeof buf);
      if (n <= 0) break;
      write_all(out, buf, (size_t)n);
    }
    return 0;
  }
  fprintf(stderr, "usage: pipepeer write <data-fifo> <go-fifo> <count> <size> | pipepeer echo <in> <out>\n");
  return 2;
}
