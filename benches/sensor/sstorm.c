/* Cross-check driver for benches/sensor/README.md: CPU time per getppid syscall. gcc -O2 sstorm.c -o sstorm && ./sstorm 3000000 */
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/syscall.h>
int main(int argc,char**argv){ long n=argc>1?atol(argv[1]):3000000; struct timespec a,b;
clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&a);
for(long i=0;i<n;i++) syscall(SYS_getppid);
clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&b);
printf("%.1f ns/getppid\n", ((b.tv_sec-a.tv_sec)*1e9+(b.tv_nsec-a.tv_nsec))/n);}
