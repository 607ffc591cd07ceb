/* The speed part of the gate: count the primes up to 30 million. The gate
 * runs this under its max_wall budget; a correct but slow answer fails. */
#include <stdio.h>

#include "primes.h"

int main(void)
{
    long want = 1857859, got = count_primes(30000000);
    if (got != want) {
        printf("# bench: count_primes(30000000) = %ld, want %ld\n", got, want);
        return 1;
    }
    printf("# bench: count_primes(30000000) = %ld\n", got);
    return 0;
}
