/* The memchr ceiling: reads a file with read() in 4 MiB chunks and counts newlines with memchr.
 * No parser can read the same bytes from the page cache faster than this, so bench/run.sh
 * reports sluice's parse throughput as a fraction of it. Prints "LINES BYTES SECONDS".
 *
 *   memchr_count FILE */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  const size_t cap = (size_t)4 << 20;
  char* buf = malloc(cap);
  if (buf == NULL) return 1;
  unsigned long long lines = 0, bytes = 0;
  for (;;) {
    ssize_t n = read(fd, buf, cap);
    if (n < 0) {
      perror("read");
      return 1;
    }
    if (n == 0) break;
    bytes += (unsigned long long)n;
    const char* p = buf;
    const char* end = buf + n;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
      ++lines;
      ++p;
    }
  }
  close(fd);
  free(buf);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("%llu %llu %.6f\n", lines, bytes, s);
  return 0;
}
