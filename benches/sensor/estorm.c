/* Cross-check driver for benches/sensor/README.md: CPU time (self + children) per posix_spawn of /bin/true. gcc -O2 estorm.c -o estorm && ./estorm 1500 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <time.h>
extern char **environ;
static double cpu(int who){struct rusage u; getrusage(who,&u); return u.ru_utime.tv_sec*1e6+u.ru_utime.tv_usec+u.ru_stime.tv_sec*1e6+u.ru_stime.tv_usec;}
int main(int argc,char**argv){ int n=argc>1?atoi(argv[1]):2000; char *av[]={"/bin/true",0};
double c0=cpu(RUSAGE_CHILDREN), s0=cpu(RUSAGE_SELF);
for(int i=0;i<n;i++){pid_t p; posix_spawn(&p,"/bin/true",0,0,av,environ); int st; waitpid(p,&st,0);}
printf("%.1f us/exec\n",(cpu(RUSAGE_CHILDREN)-c0+cpu(RUSAGE_SELF)-s0)/n);}
