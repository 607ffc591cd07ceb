#include "primes.h"

/* TODO: implement. See test_primes.c for what is expected and
 * bench_primes.c for how fast it must be. */
long count_primes(long n)
{
    (void)n;
    return -1;
}
