# The everyday Terraform workflow against amibox: a key pair, a security
# group opening SSH, an instance in the default VPC (no zone given) that a
# remote-exec provisioner logs into over SSH, a volume attached to it, an
# AMI made from it, and the AMI found again by a data source.  Driven by
# t_terraform_instance.sh, which gives the variables.
variable "endpoint" { type = string }
variable "access_key" { type = string }
variable "secret_key" { type = string }
variable "public_key" { type = string }
variable "private_key_file" { type = string }

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {
  region     = "us-east-1"
  access_key = var.access_key
  secret_key = var.secret_key
  # The credentials are given: no instance metadata to probe on this host.
  skip_metadata_api_check = true
  endpoints {
    ec2 = var.endpoint
    sts = var.endpoint
  }
}

data "aws_ami" "linux" {
  most_recent = true
  owners      = ["amazon"]
  filter {
    name   = "name"
    values = ["amibox-sample-linux"]
  }
}

resource "aws_key_pair" "deployer" {
  key_name   = "tf-deployer"
  public_key = var.public_key
}

resource "aws_security_group" "ssh" {
  name        = "tf-ssh"
  description = "SSH from anywhere"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "web" {
  ami                    = data.aws_ami.linux.id
  instance_type          = "m1.small"
  key_name               = aws_key_pair.deployer.key_name
  vpc_security_group_ids = [aws_security_group.ssh.id]
  tags = {
    Name = "tf-web"
  }
  connection {
    type        = "ssh"
    host        = self.public_ip
    user        = "root"
    private_key = file(var.private_key_file)
    timeout     = "3m"
  }
  provisioner "remote-exec" {
    inline = [
      "echo provisioned-by-terraform > /tmp/tf-mark",
      "echo \"remote-exec ran on $(wget -qO- http://169.254.169.254/latest/meta-data/instance-id)\"",
    ]
  }
}

resource "aws_ebs_volume" "data" {
  availability_zone = aws_instance.web.availability_zone
  size              = 1
  type              = "gp3"
  tags = {
    Name = "tf-data"
  }
}

resource "aws_volume_attachment" "data" {
  device_name  = "/dev/sdf"
  volume_id    = aws_ebs_volume.data.id
  instance_id  = aws_instance.web.id
  force_detach = true
}

resource "aws_ami_from_instance" "golden" {
  name                    = "tf-golden"
  source_instance_id      = aws_instance.web.id
  snapshot_without_reboot = true
  depends_on              = [aws_volume_attachment.data]
}

data "aws_ami" "golden" {
  owners      = ["self"]
  most_recent = true
  filter {
    name   = "image-id"
    values = [aws_ami_from_instance.golden.id]
  }
}

output "instance_id" { value = aws_instance.web.id }
output "public_ip" { value = aws_instance.web.public_ip }
output "private_ip" { value = aws_instance.web.private_ip }
output "zone" { value = aws_instance.web.availability_zone }
output "golden" { value = data.aws_ami.golden.id }
output "golden_name" { value = data.aws_ami.golden.name }
