package sysx

const sysFinitModule = 313
