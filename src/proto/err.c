#include "err.h"

const char *ht_strerror(int err)
{
	switch ((ht_err)err) {
	case HT_OK: return "ok";
	case HT_ERR_NEED_MORE: return "need more input";
	case HT_ERR_NOBUF: return "output buffer too small";
	case HT_ERR_TRUNCATED: return "truncated";
	case HT_ERR_BAD_LENGTH: return "bad length";
	case HT_ERR_BAD_TYPE: return "unknown type";
	case HT_ERR_BAD_ADDRESS: return "forbidden address";
	case HT_ERR_DUPLICATE: return "duplicate element";
	case HT_ERR_ORDER: return "element out of order";
	case HT_ERR_WRONG_SENDER: return "element not allowed from this sender";
	case HT_ERR_BAD_VERSION: return "unsupported version";
	case HT_ERR_BAD_MAGIC: return "bad magic";
	case HT_ERR_BAD_VALUE: return "bad field value";
	case HT_ERR_TRAILING: return "trailing bytes";
	case HT_ERR_INTEGRITY: return "integrity check failed";
	case HT_ERR_FINGERPRINT: return "fingerprint check failed";
	case HT_ERR_MISMATCH: return "payload does not match its type";
	case HT_ERR_TOO_LONG: return "too long";
	case HT_ERR_INVAL: return "invalid argument";
	case HT_ERR_CRYPTO: return "crypto failure";
	case HT_ERR_UNSUPPORTED: return "unsupported";
	case HT_ERR__LAST: break;
	}
	return err > 0 ? "ok" : "unknown error";
}
