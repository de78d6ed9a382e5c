/*
 * Prints the struct offsets swoffcpu reads in a CPython process, from that very
 * version's own headers (compiled with Py_BUILD_CORE): scripts/python/offsets.sh
 * turns the output into Sources/SwoffcpuCore/PythonLayoutTable.swift. Nothing here
 * is guessed: a field the compiler cannot find fails the build.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#else
#include "frameobject.h"
#endif

#define P(name, v) printf("%s=%lu\n", name, (unsigned long)(v))

int main(void)
{
	printf("version=%s\n", PY_VERSION);
	P("hex", PY_VERSION_HEX);
	P("runtime_interpreters_head", offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX >= 0x030B0000
	P("interp_threads_head", offsetof(PyInterpreterState, threads.head));
#else
	P("interp_threads_head", offsetof(PyInterpreterState, tstate_head));
#endif
	P("tstate_next", offsetof(PyThreadState, next));
	P("tstate_thread_id", offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
	P("tstate_native_thread_id", offsetof(PyThreadState, native_thread_id));
#endif
#if PY_VERSION_HEX >= 0x030D0000
	P("tstate_frame", offsetof(PyThreadState, current_frame));
	P("cframe_current_frame", 0xffff); /* no _PyCFrame: tstate->current_frame */
#elif PY_VERSION_HEX >= 0x030B0000
	P("tstate_frame", offsetof(PyThreadState, cframe));
	P("cframe_current_frame", offsetof(_PyCFrame, current_frame));
#else
	P("tstate_frame", offsetof(PyThreadState, frame));
	P("cframe_current_frame", 0xffff);
#endif
#if PY_VERSION_HEX >= 0x030B0000
	P("frame_previous", offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030D0000
	P("frame_code", offsetof(_PyInterpreterFrame, f_executable));
	P("frame_instr", offsetof(_PyInterpreterFrame, instr_ptr));
#else
	P("frame_code", offsetof(_PyInterpreterFrame, f_code));
	P("frame_instr", offsetof(_PyInterpreterFrame, prev_instr));
#endif
#if PY_VERSION_HEX >= 0x030C0000
	P("frame_owner", offsetof(_PyInterpreterFrame, owner));
	P("owner_cstack", FRAME_OWNED_BY_CSTACK);
#else
	P("frame_owner", offsetof(_PyInterpreterFrame, is_entry));
	P("owner_cstack", 0xff); /* 3.11: is_entry, a bool */
#endif
	P("code_adaptive", offsetof(PyCodeObject, co_code_adaptive));
	P("code_qualname", offsetof(PyCodeObject, co_qualname));
#else
	P("frame_previous", offsetof(PyFrameObject, f_back));
	P("frame_code", offsetof(PyFrameObject, f_code));
	P("frame_instr", offsetof(PyFrameObject, f_lasti));
	P("frame_owner", 0xffff);
	P("owner_cstack", 0xff);
	P("code_adaptive", 0xffff);
	P("code_qualname", 0xffff);
#endif
	P("code_filename", offsetof(PyCodeObject, co_filename));
	P("code_name", offsetof(PyCodeObject, co_name));
	P("code_firstlineno", offsetof(PyCodeObject, co_firstlineno));
	P("code_linetable", offsetof(PyCodeObject, co_linetable));
	P("bytes_size", offsetof(PyVarObject, ob_size));
	P("bytes_data", offsetof(PyBytesObject, ob_sval));
	P("unicode_length", offsetof(PyASCIIObject, length));
	P("unicode_state", offsetof(PyASCIIObject, state));
	P("unicode_ascii_data", sizeof(PyASCIIObject));
	P("unicode_compact_data", sizeof(PyCompactUnicodeObject));
#if PY_VERSION_HEX >= 0x030C0000
	P("gil", offsetof(_PyRuntimeState, _main_interpreter) + offsetof(PyInterpreterState, _gil));
#else
	P("gil", offsetof(_PyRuntimeState, ceval.gil));
#endif
	P("gil_size", sizeof(struct _gil_runtime_state));
	P("gil_last_holder", offsetof(struct _gil_runtime_state, last_holder));
	/* Thread names: the Thread object is `self` of Thread._bootstrap's frame; its `_name`
	 * in its instance values (the type's cached keys) or its dict (3.11, 3.12). */
#if PY_VERSION_HEX >= 0x030B0000
	P("frame_localsplus", offsetof(_PyInterpreterFrame, localsplus));
	P("type_cached_keys", offsetof(PyHeapTypeObject, ht_cached_keys));
	P("keys_log2_index_bytes", offsetof(PyDictKeysObject, dk_log2_index_bytes));
	P("keys_kind", offsetof(PyDictKeysObject, dk_kind));
	P("keys_nentries", offsetof(PyDictKeysObject, dk_nentries));
	P("keys_indices", offsetof(PyDictKeysObject, dk_indices));
	P("dict_keys", offsetof(PyDictObject, ma_keys));
	P("dict_values", offsetof(PyDictObject, ma_values));
#else
	P("frame_localsplus", offsetof(PyFrameObject, f_localsplus));
	P("type_cached_keys", offsetof(PyHeapTypeObject, ht_cached_keys));
	P("keys_log2_index_bytes", 0xffff);
	P("keys_kind", 0xffff);
	P("keys_nentries", 0xffff);
	P("keys_indices", 0xffff);
	P("dict_keys", offsetof(PyDictObject, ma_keys));
	P("dict_values", offsetof(PyDictObject, ma_values));
#endif
	return 0;
}
