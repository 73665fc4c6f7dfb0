#ifndef OMNISIGHT_LOG_H
#define OMNISIGHT_LOG_H

#include <stdio.h>
#ifdef OMNISIGHT_SYSLOG
#include <syslog.h>
/* On a camera the system log is what systemlog.cgi?appname=omnisight shows. */
#define LOGI(...) syslog(LOG_INFO, __VA_ARGS__)
#define LOGW(...) syslog(LOG_WARNING, __VA_ARGS__)
#define LOGE(...) syslog(LOG_ERR, __VA_ARGS__)
#else
#define OLOG_(lvl, ...) do { fprintf(stderr, "omnisight: " lvl ": " __VA_ARGS__); fputc('\n', stderr); } while (0)
#define LOGI(...) OLOG_("info", __VA_ARGS__)
#define LOGW(...) OLOG_("warn", __VA_ARGS__)
#define LOGE(...) OLOG_("error", __VA_ARGS__)
#endif

#endif
