# Packages, built from this tree and linted; included by the Makefile.
# Everything goes to build/pkg/.
#
#   make deb    a .deb for Debian 12 and Ubuntu (deploy/deb/), checked with lintian
#   make rpm    the source RPM for Amazon Linux 2023 (deploy/rpm/), and a binary
#               RPM of the binaries built here that checks the spec's scriptlets,
#               file list and layout; all checked with rpmlint. The RPM to ship
#               is the SRPM rebuilt on Amazon Linux 2023 (deploy/rpm/minerwatch.spec).
#   make dist   the source tarball that the SRPM carries: the work tree's files
#               that git tracks or does not ignore
#
# Versions come from VERSION. deploy/deb/changelog and the spec's Version must
# name it, or the build stops and says so; rpmlint checks the spec's %changelog.

PKG_OUT := $(OUT)/pkg
DEB_REVISION := 1
RPM_RELEASE := 1
DEB_ARCH = $(shell dpkg --print-architecture)
RPM_ARCH = $(shell uname -m)
# Timestamps in the artefacts: the last commit, not the time of the build.
PKG_EPOCH = $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

DEB = $(PKG_OUT)/minerwatch_$(VERSION)-$(DEB_REVISION)_$(DEB_ARCH).deb
DIST := $(PKG_OUT)/minerwatch-$(VERSION).tar.gz
SRPM := $(PKG_OUT)/minerwatch-$(VERSION)-$(RPM_RELEASE).src.rpm
RPM = $(PKG_OUT)/minerwatch-$(VERSION)-$(RPM_RELEASE).$(RPM_ARCH).rpm
RPM_SPEC := deploy/rpm/minerwatch.spec
RPM_TOP := $(CURDIR)/$(PKG_OUT)/rpmbuild
RPMBUILD := rpmbuild --quiet --define '_topdir $(RPM_TOP)' \
	--define '_sourcedir $(CURDIR)/$(PKG_OUT)' --define '_srcrpmdir $(CURDIR)/$(PKG_OUT)' \
	--define '_rpmdir $(CURDIR)/$(PKG_OUT)' --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
	--define 'clamp_mtime_to_source_date_epoch 1' --define 'use_source_date_epoch_as_buildtime 1'

.PHONY: deb rpm dist

deb: all
	$(call msg,DEB,$(DEB))
	$(Q)rm -rf $(PKG_OUT)/deb $(DEB)
	$(Q)$(MAKE) --no-print-directory install PREFIX=/usr \
		DESTDIR=$(CURDIR)/$(PKG_OUT)/deb/debian/minerwatch >/dev/null
	$(Q)SOURCE_DATE_EPOCH=$(PKG_EPOCH) sh deploy/deb/mkdeb.sh $(PKG_OUT)/deb \
		$(VERSION)-$(DEB_REVISION) $(DEB) >/dev/null
	$(call msg,LINTIAN,$(DEB))
	$(Q)lintian --fail-on error,warning,info,pedantic --display-info --pedantic $(DEB)

dist:
	$(call msg,DIST,$(DIST))
	$(Q)mkdir -p $(PKG_OUT)
	$(Q)git ls-files --cached --others --exclude-standard | \
		while read -r f; do if [ -e "$$f" ]; then echo "$$f"; fi; done | LC_ALL=C sort | \
		tar --create --no-recursion --files-from=- --mtime=@$(PKG_EPOCH) --owner=0 \
			--group=0 --numeric-owner --transform 's,^,minerwatch-$(VERSION)/,S' | \
		gzip -9n > $(DIST)

rpm: all dist
	$(Q)v=$$(rpmspec -q --srpm --qf '%{VERSION}-%{RELEASE}' $(RPM_SPEC)); \
	if [ "$$v" != "$(VERSION)-$(RPM_RELEASE)" ]; then \
		echo "rpm: $(RPM_SPEC) is at $$v, not $(VERSION)-$(RPM_RELEASE): update Version," \
			"Release and %changelog" >&2; exit 1; fi
	$(call msg,SRPM,$(SRPM))
	$(Q)rm -rf $(PKG_OUT)/rpm-root $(RPM_TOP) $(SRPM) $(RPM)
	$(Q)SOURCE_DATE_EPOCH=$(PKG_EPOCH) $(RPMBUILD) -bs $(RPM_SPEC)
	$(call msg,RPM,$(RPM))
	$(Q)$(MAKE) --no-print-directory install PREFIX=/usr \
		DESTDIR=$(CURDIR)/$(PKG_OUT)/rpm-root >/dev/null
	$(Q)SOURCE_DATE_EPOCH=$(PKG_EPOCH) $(RPMBUILD) -bb --nodeps --with prebuilt \
		--define 'prebuilt_root $(CURDIR)/$(PKG_OUT)/rpm-root' $(RPM_SPEC)
	$(call msg,RPMLINT,$(SRPM) $(RPM))
	$(Q)rpmlint --strict -c deploy/rpm/rpmlint.toml -r deploy/rpm/minerwatch.rpmlintrc $(RPM_SPEC) $(SRPM) $(RPM)
