# The container image (included by the top-level Makefile).
#
#   make image    build/image/minerwatch-$(VERSION).oci.tar: an OCI archive built
#                 offline with buildah FROM scratch (deploy/image/build.sh);
#                 load it with `skopeo copy oci-archive:... docker://...` or
#                 `podman load -i ...` (see README, Deployment).

IMAGE_DIR := $(OUT)/image
IMAGE_TAR := $(IMAGE_DIR)/minerwatch-$(VERSION).oci.tar
IMAGE_INPUTS := deploy/image/build.sh deploy/image/minerwatch.conf \
	deploy/pool-names.txt deploy/suppress.conf

.PHONY: image
image: $(IMAGE_TAR)

$(IMAGE_TAR): $(OUT)/minerwatchd $(OUT)/minerwatch $(IMAGE_INPUTS)
	$(call msg,IMAGE,$@)
	$(Q)sh deploy/image/build.sh $(VERSION) $@ $(OUT)/minerwatchd $(OUT)/minerwatch
