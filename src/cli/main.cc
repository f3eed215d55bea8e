#include <cstdio>
int main() { std::puts("sluice"); return 0; }
