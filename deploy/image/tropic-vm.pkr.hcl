# Tropic's instance VM image (issue 17, docs/vm-image.md): Ubuntu 22.04 on EBS (20 GB gp3), provisioned
# by ONE script, deploy/image/provision.sh, the same one the tests run on a booted Debian host.
#
#   packer build -var bundle=/path/to/tropic-host-linux-x64-<hash>.tar.gz deploy/image/tropic-vm.pkr.hcl
#
# The bundle is the one the control plane serves (GET /install/manifest.json names it; it is in
# <data dir>/host-bundles/<version>/). The AMI is tagged tropic:image=openclaw, which the aws provider
# finds it by (TROPIC_AWS_IMAGE_TAG), and copied to the seed's other regions.
# Written for Debian's packer (1.6.6: the amazon-ebs builder is built in; no required_plugins block).

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "where the image is built"
}

variable "copy_regions" {
  type        = list(string)
  default     = ["ap-southeast-1", "eu-west-1", "eu-west-2"]
  description = "the seed's other regions, where the image is copied"
}

variable "build_instance_type" {
  type    = string
  default = "t3.small"
}

variable "bundle" {
  type        = string
  description = "the host bundle tarball (tropic-host-linux-x64-<hash>.tar.gz) the image bakes"
}

variable "image_tag_key" {
  type    = string
  default = "tropic:image"
}

variable "image_tag_value" {
  type    = string
  default = "openclaw"
}

variable "skip_desktop" {
  type        = bool
  default     = false
  description = "an image without XFCE and Chrome (smaller; chrome-headed.service then stays inactive)"
}

locals {
  stamp       = formatdate("YYYYMMDDhhmmss", timestamp())
  bundle_name = basename(var.bundle)
}

source "amazon-ebs" "tropic" {
  region          = var.region
  ami_regions     = var.copy_regions
  instance_type   = var.build_instance_type
  ssh_username    = "ubuntu"
  ami_name        = "tropic-vm-${local.stamp}"
  ami_description = "Tropic instance VM: Ubuntu 22.04, nginx, OpenClaw and the Tropic agent (host bundle ${local.bundle_name}), XFCE and headed Chrome"

  source_ami_filter {
    filters = {
      name                = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["099720109477"]
    most_recent = true
  }

  launch_block_device_mappings {
    device_name           = "/dev/sda1"
    volume_size           = 20
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    delete_on_termination = true
  }

  tags = {
    "${var.image_tag_key}" = var.image_tag_value
    "Name"                 = "tropic-vm-${local.stamp}"
    "tropic:bundle"        = local.bundle_name
  }
}

build {
  sources = ["source.amazon-ebs.tropic"]

  # The bundle and the image's files (provision.sh, enrol.sh, ssm-credential.mjs).
  provisioner "file" {
    source      = var.bundle
    destination = "/tmp/${local.bundle_name}"
  }

  provisioner "file" {
    source      = "${path.root}/"
    destination = "/tmp/tropic-image"
  }

  # The one provisioning script (after the build VM's own first boot is done: apt is free then).
  provisioner "shell" {
    inline = [
      "cloud-init status --wait >/dev/null || true",
      "sudo sh /tmp/tropic-image/provision.sh --bundle /tmp/${local.bundle_name} ${var.skip_desktop ? "--skip-desktop" : ""} --seal",
    ]
  }
}
