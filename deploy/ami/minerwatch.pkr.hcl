# Bakes an Amazon Linux 2023 AMI with minerwatch installed and enabled.
#
#   make rpm
#   packer init deploy/ami
#   packer build -var rpm_path=build/rpm/minerwatch-0.1.0-1.amzn2023.x86_64.rpm \
#       -var region=eu-west-1 deploy/ami
#
# The build instance uploads the RPM, installs it with dnf (which pulls the
# libraries it links from the Amazon Linux repositories) and enables
# minerwatchd.service; the service first starts on the instances launched
# from the AMI. See README, Deployment.

packer {
  required_version = ">= 1.8.0"
  required_plugins {
    amazon = {
      version = ">= 1.2.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}

variable "region" {
  type        = string
  description = "AWS region to build the AMI in."
  default     = "us-east-1"
}

variable "instance_type" {
  type        = string
  description = "Instance type of the temporary build instance."
  default     = "t3.small"
}

variable "rpm_path" {
  type        = string
  description = "Local path of the minerwatch RPM (make rpm)."
}

variable "rpm_sha256" {
  type        = string
  description = "Expected SHA-256 of the RPM; empty skips the check."
  default     = ""
}

variable "source_ami_name" {
  type        = string
  description = "Name filter of the base AMI (Amazon Linux 2023, x86_64, owned by Amazon)."
  default     = "al2023-ami-2023.*-x86_64"
}

variable "ami_name_prefix" {
  type        = string
  description = "The AMI is named PREFIX-YYYYMMDDhhmmss."
  default     = "minerwatch-al2023"
}

variable "subnet_id" {
  type        = string
  description = "Subnet of the build instance; empty uses the default VPC."
  default     = ""
}

locals {
  build_time = formatdate("YYYYMMDDhhmmss", timestamp())
}

source "amazon-ebs" "al2023" {
  region          = var.region
  instance_type   = var.instance_type
  subnet_id       = var.subnet_id
  ssh_username    = "ec2-user"
  ami_name        = "${var.ami_name_prefix}-${local.build_time}"
  ami_description = "Amazon Linux 2023 with the minerwatch eBPF cryptominer sensor"

  source_ami_filter {
    filters = {
      name                = var.source_ami_name
      architecture        = "x86_64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = ["amazon"]
    most_recent = true
  }

  # IMDSv2 only, on the build instance and on instances launched from the AMI.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  imds_support = "v2.0"

  tags = {
    Name        = "${var.ami_name_prefix}-${local.build_time}"
    Software    = "minerwatch"
    BaseAMI     = "{{ .SourceAMI }}"
    BaseAMIName = "{{ .SourceAMIName }}"
  }
}

build {
  sources = ["source.amazon-ebs.al2023"]

  provisioner "file" {
    source      = var.rpm_path
    destination = "/tmp/minerwatch.rpm"
  }

  provisioner "file" {
    source      = "${path.root}/install-minerwatch.sh"
    destination = "/tmp/install-minerwatch.sh"
  }

  # Installs with dnf and enables minerwatchd.service (not started here).
  provisioner "shell" {
    inline = [
      "sudo sh /tmp/install-minerwatch.sh /tmp/minerwatch.rpm ${var.rpm_sha256}",
      "rm -f /tmp/minerwatch.rpm /tmp/install-minerwatch.sh",
      "systemctl is-enabled minerwatchd.service",
    ]
  }
}
