# SPDX-License-Identifier: MIT
# mplb: one Makefile, one set of rules (like xdp-tools' lib/common.mk).
#   make            build everything into build/
#   make check      install missing Debian packages, build, run every test
#   make demo       install missing Debian packages, build, run the lab demo
#   make fuzz       the option-codec fuzzer (FUZZ_RUNS runs) and the config loaders' (CFG_FUZZ_RUNS)
#   make bench      benchmarks (not tests)
#   make scaleout   the LB tier measured in the lab (docs/scale-out-measured.md)
#   make guide      the strategy comparison guide (docs/guide.md, plots in docs/guide/)

# bpftool, ip, tc and sysctl live in sbin, which a user's PATH may lack.
export PATH := $(PATH):/usr/local/sbin:/usr/sbin:/sbin

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

PKGS     := libbpf libmnl libcrypto libpcap jansson inih libsystemd libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Ilib -I. -I$(BUILD) $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lelf -lz -lm
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# Components: each folder holds its sources; tests/ beside them is not linked in.
COMPONENTS := lab probe decode lb server client advert sim
LIB_SRCS   := $(wildcard lib/*.c)
CMD_SRCS   := cli/mplb.c $(foreach c,$(COMPONENTS),$(wildcard $(c)/*.c))
LIB_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
CMD_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(CMD_SRCS))

# BPF programs: bpf/*.bpf.c -> object -> skeleton header included by userspace.
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -Iinclude -Ibpf -I$(BUILD)

# Unit tests: <component>/tests/test_*.c, each a cmocka binary, built twice:
# plain and under ASan+UBSan.
UNIT_SRCS  := $(wildcard lib/tests/test_*.c $(foreach c,$(COMPONENTS),$(c)/tests/test_*.c))
UNIT_BINS  := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(UNIT_SRCS)))
UNIT_SAN   := $(patsubst %.c,$(BUILD)/tests-san/%,$(notdir $(UNIT_SRCS)))
FUZZ_SRCS  := $(wildcard lib/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst lib/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
# Config loader fuzzers (rules below); defined before `all` names them.
CFG_FUZZ   := lb server client advert
CFG_FUZZ_BINS := $(foreach c,$(CFG_FUZZ),$(BUILD)/fuzz/fuzz_$(c)_config)
FUZZ_RUNS  ?= 1000000

.PHONY: all deps check demo fuzz bench scaleout guide clean unit format man install deb
# Keep BPF objects and skeletons: they are intermediate files of pattern rules.
.SECONDARY: $(BPF_OBJS) $(BPF_SKELS) $(BUILD)/vmlinux.h
# Man pages: <component>/*.8.scd and lib/mplb.conf.5.scd, through scdoc.
MAN_SRCS   := $(wildcard cli/*.scd $(foreach c,$(COMPONENTS) lib,$(c)/*.scd))
MAN_PAGES  := $(patsubst %.scd,$(BUILD)/man/%,$(notdir $(MAN_SRCS)))

all: $(BUILD)/mplb $(UNIT_BINS) $(UNIT_SAN) $(FUZZ_BINS) $(CFG_FUZZ_BINS) $(MAN_PAGES)

deps:
	@bash scripts/deps.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	@test -r /sys/kernel/btf/vmlinux || { echo "mplb: kernel BTF (/sys/kernel/btf/vmlinux) missing: need CONFIG_DEBUG_INFO_BTF=y" >&2; exit 1; }
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.h include/mplb/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c $(BPF_SKELS) $(wildcard include/mplb/*.h lib/*.h $(foreach c,$(COMPONENTS) cli,$(c)/*.h))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj-san/%.o: %.c $(BPF_SKELS) $(wildcard include/mplb/*.h lib/*.h $(foreach c,$(COMPONENTS) cli,$(c)/*.h))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -c $< -o $@

$(BUILD)/libmplb.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/mplb: $(CMD_OBJS) $(BUILD)/libmplb.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# A unit test links the library and, for component tests, that component's
# objects (minus the CLI entry point).
define unit_rule
$(BUILD)/tests/$(notdir $(basename $(1))): $(1) $(wildcard $(dir $(1))*.h) $(filter-out $(BUILD)/obj/cli/%,$(filter $(BUILD)/obj/$(firstword $(subst /, ,$(1)))/%,$(CMD_OBJS))) $(BUILD)/libmplb.a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -o $$@ $$(filter-out %.h,$$^) $$(LDLIBS) -lcmocka
$(BUILD)/tests-san/$(notdir $(basename $(1))): $(1) $(wildcard $(dir $(1))*.h) $(patsubst %.c,$(BUILD)/obj-san/%.o,$(LIB_SRCS)) $(patsubst %.c,$(BUILD)/obj-san/%.o,$(filter-out cli/%,$(filter $(firstword $(subst /, ,$(1)))/%,$(CMD_SRCS))))
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(SAN) -o $$@ $$(filter-out %.h,$$^) $$(LDLIBS) -lcmocka
endef
$(foreach t,$(UNIT_SRCS),$(eval $(call unit_rule,$(t))))

# The fuzzer links only the code under test: the codec and its crypto.
FUZZ_DEPS  := lib/mptcp_opt.c lib/mptcp_crypto.c
$(BUILD)/fuzz/%: lib/fuzz/%.c $(FUZZ_DEPS) $(wildcard lib/*.h include/mplb/*.h)
	@mkdir -p $(@D)
	$(CLANG) -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Ilib -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -o $@ $< $(FUZZ_DEPS) -lcrypto

# Config loader fuzzers: <c>/tests/fuzz_<c>_config.c over the component's
# and the library's sources, built by clang with libFuzzer, ASan and UBSan.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Ilib -I. -I$(BUILD) $(PKG_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
define cfg_fuzz_rule
$(BUILD)/fuzz/fuzz_$(1)_config: $(1)/tests/fuzz_$(1)_config.c $(wildcard $(1)/*.c) $(LIB_SRCS) $(BPF_SKELS)
	@mkdir -p $$(@D)
	$(CLANG) $(FUZZ_CFLAGS) -o $$@ $(1)/tests/fuzz_$(1)_config.c $(wildcard $(1)/*.c) $(LIB_SRCS) $(LDLIBS)
endef
$(foreach c,$(CFG_FUZZ),$(eval $(call cfg_fuzz_rule,$(c))))

unit: $(UNIT_BINS) $(UNIT_SAN)

check: deps
	@$(MAKE) --no-print-directory all
	@bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/mplb
	@bash scripts/demo.sh

CFG_FUZZ_RUNS ?= 1000000
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS) $(CFG_FUZZ_BINS)
	@bash tests/fuzz.sh $(FUZZ_RUNS)
	@for c in $(CFG_FUZZ); do MPLB_FUZZ_BIN=$(BUILD)/fuzz/fuzz_$${c}_config MPLB_FUZZ_CORPUS=$$c/examples \
	  bash tests/fuzz.sh $(CFG_FUZZ_RUNS) || exit 1; done

bench: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/bench.sh

define man_rule
$(BUILD)/man/$(notdir $(basename $(1))): $(1)
	@mkdir -p $$(@D)
	scdoc < $$< > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach m,$(MAN_SRCS),$(eval $(call man_rule,$(m))))

man: $(MAN_PAGES)

# make install [PREFIX=/usr/local] [DESTDIR=] : the binary, man pages, systemd
# units, example configs in /etc/mplb, bash completion.
PREFIX        ?= /usr/local
SBINDIR       ?= $(PREFIX)/sbin
MANDIR        ?= $(PREFIX)/share/man
SYSCONFDIR    ?= /etc
UNITDIR       ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR        ?= $(PREFIX)/share/doc/mplb
install: $(BUILD)/mplb $(MAN_PAGES)
	install -D -m 0755 $(BUILD)/mplb $(DESTDIR)$(SBINDIR)/mplb
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(SYSCONFDIR)/mplb
	for c in lb server client advert; do \
	  install -m 0644 $$c/examples/$$c.ini $(DESTDIR)$(SYSCONFDIR)/mplb/$$c.ini.example; done
	install -d $(DESTDIR)$(UNITDIR)
	for u in dist/systemd/*.service; do \
	  sed 's|/usr/sbin/mplb|$(SBINDIR)/mplb|g; s|/etc/mplb|$(SYSCONFDIR)/mplb|g' $$u \
	    > $(DESTDIR)$(UNITDIR)/$$(basename $$u); chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	install -D -m 0644 dist/bash-completion/mplb $(DESTDIR)$(COMPLETIONDIR)/mplb
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/

# make deb: a Debian package through dpkg-buildpackage, built from a copy of
# the tree in build/deb (the results land beside it, not outside the tree).
deb: deps
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/mplb
	git ls-files -z | xargs -0 cp --parents -t $(BUILD)/deb/mplb
	cd $(BUILD)/deb/mplb && dpkg-buildpackage -us -uc -b
	@ls $(BUILD)/deb/*.deb

# The LB tier in the lab, measured: docs/scale-out-measured.md (SCALEOUT_RUNS runs per cell).
SCALEOUT_RUNS ?= 3
scaleout: deps
	@$(MAKE) --no-print-directory $(BUILD)/mplb
	@bash scripts/scaleout.sh $(SCALEOUT_RUNS)

# docs/guide.md and docs/guide/*.svg: the strategy comparison (scripts/guide.py).
guide: deps
	@$(MAKE) --no-print-directory $(BUILD)/mplb
	@python3 scripts/guide.py

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
