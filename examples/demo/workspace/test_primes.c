/* The demo's test suite: TAP on stdout, one line a case. */
#include <stdio.h>

#include "primes.h"

static int failed, number;

static void expect(long n, long want)
{
    long got = count_primes(n);
    number++;
    if (got == want) {
        printf("ok %d - count_primes(%ld) = %ld\n", number, n, want);
    } else {
        printf("not ok %d - count_primes(%ld) = %ld\n", number, n, want);
        printf("#   got %ld\n", got);
        failed++;
    }
}

int main(void)
{
    static const long cases[][2] = {
        {-5, 0}, {0, 0}, {1, 0}, {2, 1}, {10, 4}, {100, 25}, {7919, 1000}, {1000000, 78498},
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    printf("1..%d\n", n);
    for (int i = 0; i < n; i++)
        expect(cases[i][0], cases[i][1]);
    return failed != 0;
}
