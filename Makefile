# SPDX-License-Identifier: GPL-2.0
#
# svmotion top-level Makefile.
#
#   make            build kmod/dm-svmotion.ko (kbuild, distribution kernel
#                   headers) and the userspace parts (-Wall -Wextra -Werror)
#   make check      host unit tests (plain, ASan/UBSan, valgrind) and the
#                   guest tests under QEMU; ends with "N passed, N failed"
#   make C=1        also runs sparse over the module
#   make checkpatch checkpatch.pl --strict over the module sources
#
# The module is built for the distribution kernel found in /lib/modules
# (Debian 12 linux-headers-amd64); override with KDIR=/path/to/build.

KVER ?= $(shell ls -1 /lib/modules 2>/dev/null | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Ilib
LDLIBS_DM := -ldevmapper
LDLIBS_COPY := -luring -laio -lnfs -liscsi
LDLIBS_JSON := -ljson-c
LDLIBS_ALL := $(LDLIBS_DM) $(LDLIBS_COPY) $(LDLIBS_JSON) -lpthread

# Sanitizer variant of the host tests (make check runs both).
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	      -fno-sanitize-recover=all

LIB_SRCS   := $(wildcard lib/*.c)
LIB_OBJS   := $(LIB_SRCS:.c=.o)
TOOL_SRCS  := $(wildcard tests/tools/*.c)
TOOLS      := $(TOOL_SRCS:.c=)
HTEST_SRCS := $(wildcard tests/host/*.c)
HTESTS     := $(HTEST_SRCS:.c=.test)
SAN_HTESTS := $(patsubst tests/host/%.c,build/san/%.test,$(HTEST_SRCS))
SAN_LIB    := build/san/libsvmotion.a
UTIL_SRCS  := $(wildcard utils/*.c)
UTILS      := $(if $(UTIL_SRCS),utils/svmotion)

.PHONY: all module user check check-host check-guest clean checkpatch sparse bench
all: module user

module:
	@test -d "$(KDIR)" || { echo "KDIR=$(KDIR) not found: run scripts/setup (linux-headers-amd64)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

user: lib/libsvmotion.a $(TOOLS) $(HTESTS) $(UTILS)

# utils/svmotion: every utils/*.c is one part of the command.
utils/svmotion: $(UTIL_SRCS) lib/libsvmotion.a $(wildcard lib/*.h utils/*.h)
	$(CC) $(CFLAGS) -Iutils -o $@ $(UTIL_SRCS) lib/libsvmotion.a $(LDLIBS_ALL)

lib/%.o: lib/%.c $(wildcard lib/*.h)
	$(CC) $(CFLAGS) -c -o $@ $<

lib/libsvmotion.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

tests/tools/%: tests/tools/%.c lib/libsvmotion.a $(wildcard lib/*.h tests/tools/*.h)
	$(CC) $(CFLAGS) -o $@ $< lib/libsvmotion.a $(LDLIBS_ALL)

tests/host/%.test: tests/host/%.c lib/libsvmotion.a $(wildcard lib/*.h tests/tools/*.h)
	$(CC) $(CFLAGS) -Itests/tools -o $@ $< lib/libsvmotion.a $(LDLIBS_ALL)

build/san/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p build/san
	$(CC) $(filter-out -O2,$(CFLAGS)) $(SAN_CFLAGS) -c -o $@ $<

$(SAN_LIB): $(patsubst lib/%.c,build/san/%.o,$(LIB_SRCS))
	@mkdir -p build/san
	$(AR) rcs $@ $^

build/san/%.test: tests/host/%.c $(SAN_LIB) $(wildcard lib/*.h tests/tools/*.h)
	@mkdir -p build/san
	$(CC) $(filter-out -O2,$(CFLAGS)) $(SAN_CFLAGS) -Itests/tools -o $@ $< $(SAN_LIB) $(LDLIBS_ALL)

# the command built with the sanitizers (tests/host/svmotion-cli runs it)
build/san/svmotion: $(UTIL_SRCS) $(SAN_LIB) $(wildcard lib/*.h utils/*.h)
	@mkdir -p build/san
	$(CC) $(filter-out -O2,$(CFLAGS)) $(SAN_CFLAGS) -Iutils -o $@ $(UTIL_SRCS) $(SAN_LIB) $(LDLIBS_ALL)

SAN_UTILS := $(if $(UTIL_SRCS),build/san/svmotion)

check: all $(SAN_HTESTS) $(SAN_UTILS)
	tests/run-tests all

check-host: user $(SAN_HTESTS) $(SAN_UTILS)
	tests/run-tests host

check-guest: all
	tests/run-tests guest

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 modules

checkpatch:
	scripts/checkpatch kmod/*.c

bench: all
	scripts/bench-dm

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf build lib/*.o lib/*.a $(TOOLS) $(HTESTS) utils/svmotion
