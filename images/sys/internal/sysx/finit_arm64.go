package sysx

const sysFinitModule = 273
