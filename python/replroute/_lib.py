"""Loading libreplroute.so.1 and libpq with ctypes, and the C prototypes.

The library is found the way ctypes.util.find_library would find it: by its
SONAME through the dynamic loader (ldconfig's cache, LD_LIBRARY_PATH, the
system directories), or from the path in the environment variable
REPLROUTE_LIBRARY.  It is loaded on first use, not at import, so that
settings files can import replroute on a machine without the library.
"""

import ctypes
import ctypes.util
import os
import threading

from .errors import LibraryError

SONAME = "libreplroute.so.1"
LIBPQ_SONAME = "libpq.so.5"
# the oldest library with everything this binding calls (RRchooseNode)
MIN_VERSION_NUM = 10100

_lock = threading.Lock()
_lib = None
_libpq = None


class RRevent(ctypes.Structure):
    """struct RRevent of replroute.h."""
    _fields_ = [
        ("type", ctypes.c_int),
        ("node", ctypes.c_int),
        ("reason", ctypes.c_int),
        ("message", ctypes.c_char_p),
        ("timeline", ctypes.c_int),
    ]


EVENT_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(RRevent))

_H = ctypes.c_void_p            # RRcluster *
_I = ctypes.c_int
_S = ctypes.c_char_p

# name: (restype, argtypes)
_PROTOTYPES = {
    "RRconnect": (_H, [_S, _S]),
    "RRstatus": (_I, [_H]),
    "RRerrorMessage": (_S, [_H]),
    "RRfinish": (None, [_H]),
    "RRsessionToken": (_S, [_H]),
    "RRsetSessionToken": (_I, [_H, _S]),
    "RRrecordWrite": (_I, [_H]),
    "RRrefresh": (_I, [_H]),
    "RRnodeCount": (_I, [_H]),
    "RRnodeHost": (_S, [_H, _I]),
    "RRnodePort": (_S, [_H, _I]),
    "RRnodeStatus": (_I, [_H, _I]),
    "RRnodeRole": (_I, [_H, _I]),
    "RRnodeTimeline": (_I, [_H, _I]),
    "RRnodeWalLsn": (_S, [_H, _I]),
    "RRnodeLagBytes": (ctypes.c_int64, [_H, _I]),
    "RRnodeLagSeconds": (ctypes.c_double, [_H, _I]),
    "RRnodeRoutable": (_I, [_H, _I]),
    "RRnodeError": (_S, [_H, _I]),
    "RRnodeReason": (_I, [_H, _I]),
    "RRnodeStreaming": (_I, [_H, _I]),
    "RRnodeReplayPaused": (_I, [_H, _I]),
    "RRnodeAnswerAge": (ctypes.c_double, [_H, _I]),
    "RRnodeReads": (ctypes.c_int64, [_H, _I]),
    "RRnodeWrites": (ctypes.c_int64, [_H, _I]),
    "RRreasonName": (_S, [_I]),
    "RRprimaryNode": (_I, [_H]),
    "RRchooseNode": (_I, [_H, _I, _S, ctypes.POINTER(_I)]),
    "RRsetEventHandler": (ctypes.c_void_p, [_H, EVENT_HANDLER, ctypes.c_void_p]),
    "RReventName": (_S, [_I]),
    "RRlibVersion": (_I, []),
}


class _ConninfoOption(ctypes.Structure):
    """PQconninfoOption of libpq-fe.h."""
    _fields_ = [
        ("keyword", ctypes.c_char_p),
        ("envvar", ctypes.c_char_p),
        ("compiled", ctypes.c_char_p),
        ("val", ctypes.c_char_p),
        ("label", ctypes.c_char_p),
        ("dispchar", ctypes.c_char_p),
        ("dispsize", ctypes.c_int),
    ]


def _candidates():
    """Where to look for the library, in order, as (name, why) pairs."""
    path = os.environ.get("REPLROUTE_LIBRARY")
    if path:
        return [(path, "REPLROUTE_LIBRARY")]
    found = [(SONAME, "SONAME")]
    # ctypes.util.find_library gives the SONAME of whatever libreplroute
    # ldconfig (or the compiler) knows; only major version 1 is ours
    other = ctypes.util.find_library("replroute")
    if other and other != SONAME and os.path.basename(other).startswith(SONAME):
        found.append((other, "find_library"))
    return found


def library():
    """The loaded libreplroute (a ctypes.CDLL with prototypes set)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        errors = []
        lib = None
        for name, why in _candidates():
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError as e:
                errors.append("%s (%s): %s" % (name, why, e))
        if lib is None:
            raise LibraryError(
                "could not load libreplroute: " + "; ".join(errors)
                + " (install libreplroute, or set REPLROUTE_LIBRARY to its path)")
        for fname, (restype, argtypes) in _PROTOTYPES.items():
            try:
                f = getattr(lib, fname)
            except AttributeError:
                raise LibraryError(
                    "the loaded libreplroute has no function %s: version 1.1 or "
                    "later is needed" % fname) from None
            f.restype = restype
            f.argtypes = argtypes
        version = lib.RRlibVersion()
        if version // 10000 != MIN_VERSION_NUM // 10000 or version < MIN_VERSION_NUM:
            raise LibraryError(
                "the loaded libreplroute is version %s; this binding needs %d.x, "
                "at least %s" % (version_string(version), MIN_VERSION_NUM // 10000,
                                 version_string(MIN_VERSION_NUM)))
        _lib = lib
        return _lib


def libpq():
    """libpq (for PQconninfoParse), loaded by its SONAME."""
    global _libpq
    if _libpq is not None:
        return _libpq
    with _lock:
        if _libpq is not None:
            return _libpq
        try:
            pq = ctypes.CDLL(LIBPQ_SONAME)
        except OSError:
            name = ctypes.util.find_library("pq")
            if name is None:
                raise LibraryError("could not load libpq (%s)" % LIBPQ_SONAME) from None
            pq = ctypes.CDLL(name)
        pq.PQconninfoParse.restype = ctypes.POINTER(_ConninfoOption)
        pq.PQconninfoParse.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        pq.PQconninfoFree.restype = None
        pq.PQconninfoFree.argtypes = [ctypes.POINTER(_ConninfoOption)]
        pq.PQfreemem.restype = None
        pq.PQfreemem.argtypes = [ctypes.c_void_p]
        _libpq = pq
        return _libpq


def version_string(num):
    """10100 -> '1.1.0'."""
    return "%d.%d.%d" % (num // 10000, num // 100 % 100, num % 100)


def encode(s):
    return None if s is None else s.encode("utf-8")


def decode(b):
    return None if b is None else b.decode("utf-8", "replace")
