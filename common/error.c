/* error.c: messages and names of weir's error codes. */
#include "common/error.h"

#include <errno.h>
#include <string.h>

const char *weir_strerror(int code)
{
	switch (code) {
	case 0:
		return "success";
	case WEIR_AGAIN:
		return "not ready yet";
	case WEIR_DECLINED:
		return "declined";
#define XX(name, c, msg) \
	case c:          \
		return msg;
		WEIR_ERRNO_MAP(XX)
#undef XX
	}
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}

const char *weir_errname(int code)
{
	switch (code) {
	case 0:
		return "WEIR_OK";
	case WEIR_AGAIN:
		return "WEIR_AGAIN";
	case WEIR_DECLINED:
		return "WEIR_DECLINED";
#define XX(name, c, msg) \
	case c:          \
		return "WEIR_" #name;
		WEIR_ERRNO_MAP(XX)
#undef XX
	}
	if (code < 0 && code > -4096) {
		const char *n = strerrorname_np(-code);
		if (n)
			return n;
	}
	return "EUNKNOWN";
}
