/* card-rate.c: an nbdkit filter that makes a disk as slow as an SD card.
 *
 * The simulated cards of the flashing benchmark (scripts/bench-w3.sh
 * builds this into target/bench-tools/card-rate.so and runs it):
 *
 *   nbdkit --filter=./card-rate.so file BACKING write-rate=BYTES/S read-rate=BYTES/S
 *
 * Each direction is its own queue, the way a card's controller moves bytes:
 * a request's slot starts no earlier than the previous one's end and lasts
 * COUNT / RATE seconds; the request returns at its slot's end. Parallel
 * requests queue, so the card never moves more than its rate. An idle gap
 * shorter than SLACK between two slots is not charged: it is the
 * simulator's own cost (a round trip through the loop device, FUSE and
 * NBD), which a card does not add to its rated speed. Writes of zeros cost
 * as much as any write; trims are free.
 *
 * Why not Debian's nbdkit-rate-filter: in nbdkit 1.32 its one `rate` applies
 * to reads and to writes alike, and a card writes at half its read speed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nbdkit-filter.h>

struct queue {
  pthread_mutex_t lock;
  double rate;    /* bytes a second */
  double free_at; /* CLOCK_MONOTONIC seconds when the last slot ends */
};

#define SLACK 0.002

static struct queue writes = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
static struct queue reads = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* Takes COUNT bytes' slot in Q and sleeps until it ends. */
static void
take (struct queue *q, uint32_t count)
{
  double start, end, t = now ();
  pthread_mutex_lock (&q->lock);
  start = t - q->free_at < SLACK ? q->free_at : t;
  end = start + count / q->rate;
  q->free_at = end;
  pthread_mutex_unlock (&q->lock);
  t = end - now ();
  if (t > 0) {
    struct timespec d = { (time_t) t, (long) ((t - (time_t) t) * 1e9) };
    while (nanosleep (&d, &d) == -1 && errno == EINTR)
      ;
  }
}

static int
card_config (nbdkit_next_config *next, nbdkit_backend *nxdata,
             const char *key, const char *value)
{
  struct queue *q = NULL;
  if (strcmp (key, "write-rate") == 0)
    q = &writes;
  else if (strcmp (key, "read-rate") == 0)
    q = &reads;
  if (q == NULL)
    return next (nxdata, key, value);
  char *end;
  q->rate = strtod (value, &end);
  if (*value == '\0' || *end != '\0' || !(q->rate > 0)) {
    nbdkit_error ("%s=%s: a positive number of bytes a second", key, value);
    return -1;
  }
  return 0;
}

static int
card_config_complete (nbdkit_next_config_complete *next,
                      nbdkit_backend *nxdata)
{
  if (writes.rate == 0 || reads.rate == 0) {
    nbdkit_error ("write-rate= and read-rate= are both required");
    return -1;
  }
  return next (nxdata);
}

static int
card_pread (nbdkit_next *next, void *handle, void *buf, uint32_t count,
            uint64_t offset, uint32_t flags, int *err)
{
  take (&reads, count);
  return next->pread (next, buf, count, offset, flags, err);
}

static int
card_pwrite (nbdkit_next *next, void *handle, const void *buf,
             uint32_t count, uint64_t offset, uint32_t flags, int *err)
{
  take (&writes, count);
  return next->pwrite (next, buf, count, offset, flags, err);
}

static int
card_zero (nbdkit_next *next, void *handle, uint32_t count, uint64_t offset,
           uint32_t flags, int *err)
{
  take (&writes, count);
  return next->zero (next, count, offset, flags, err);
}

static struct nbdkit_filter filter = {
  .name = "card-rate",
  .longname = "burnline bench simulated SD card",
  .config = card_config,
  .config_complete = card_config_complete,
  .config_help = "write-rate=BYTES/S read-rate=BYTES/S  the card's speeds.",
  .pread = card_pread,
  .pwrite = card_pwrite,
  .zero = card_zero,
};

NBDKIT_REGISTER_FILTER (filter)
