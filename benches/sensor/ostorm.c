/* Cross-check driver for benches/sensor/README.md: CPU time per open+close of a regular file. gcc -O2 ostorm.c -o ostorm && ./ostorm 1000000 */
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc,char**argv){ long n=argc>1?atol(argv[1]):1000000; struct timespec a,b;
clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&a);
for(long i=0;i<n;i++){int fd=open("/etc/hostname",O_RDONLY|O_CLOEXEC); close(fd);}
clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&b);
printf("%.1f ns/open\n", ((b.tv_sec-a.tv_sec)*1e9+(b.tv_nsec-a.tv_nsec))/n);}
