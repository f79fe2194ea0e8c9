/* Placeholder entry point, replaced by the CLI module. */
#include <stdio.h>
int main(void)
{
    puts("cdagent " CDAGENT_VERSION);
    return 0;
}
