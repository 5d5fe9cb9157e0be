# share/wireshark/install.mk: `make install` also installs the Wireshark
# plugin and profile where Wireshark looks for them (included by Makefile).
# The folders come from `tshark -G folders` when tshark is installed;
# override them, e.g. make install WIRESHARK_LUA_DIR=~/.local/lib/wireshark/plugins
# WIRESHARK_PROFILE_DIR=~/.config/wireshark/profiles/conntrail.
ws_folder = $(shell tshark -G folders 2>/dev/null | sed -n 's/^$(1):[[:space:]]*//p')
WIRESHARK_LUA_DIR ?= $(or $(call ws_folder,Global Lua Plugins),$(PREFIX)/lib/wireshark/plugins)
WIRESHARK_PROFILE_DIR ?= $(or $(call ws_folder,Global configuration),$(PREFIX)/share/wireshark)/profiles/conntrail

.PHONY: install-wireshark
install: install-wireshark
install-wireshark:
	install -d $(DESTDIR)$(WIRESHARK_LUA_DIR) $(DESTDIR)$(WIRESHARK_PROFILE_DIR)
	install -m 0644 share/wireshark/conntrail.lua $(DESTDIR)$(WIRESHARK_LUA_DIR)/conntrail.lua
	install -m 0644 share/wireshark/profile/preferences share/wireshark/profile/colorfilters \
		share/wireshark/profile/dfilter_buttons share/wireshark/profile/recent $(DESTDIR)$(WIRESHARK_PROFILE_DIR)/
