/* The task of the demo: count the primes up to n. */
#ifndef PRIMES_H
#define PRIMES_H

/* How many primes p satisfy 2 <= p <= n (0 when n < 2). */
long count_primes(long n);

#endif
