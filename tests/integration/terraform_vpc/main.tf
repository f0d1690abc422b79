# A VPC of its own with subnets and security groups (rules inline, legacy and
# per-rule resources), an internet gateway and an instance with an Elastic IP
# reached over SSH at that address, the default VPC, subnet and groups
# adopted, and the data sources that find them.  Driven by t_terraform_vpc.sh.
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
  region                      = "us-east-1"
  access_key                  = var.access_key
  secret_key                  = var.secret_key
  # The credentials are given: no instance metadata to probe on this host.
  skip_metadata_api_check     = true
  endpoints {
    ec2 = var.endpoint
    sts = var.endpoint
  }
}

data "aws_availability_zones" "zones" {
  state = "available"
}

data "aws_vpc" "default" {
  default = true
}

data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
}

resource "aws_default_vpc" "default" {}

resource "aws_vpc" "main" {
  cidr_block           = "10.20.0.0/16"
  enable_dns_hostnames = true
  tags                 = { Name = "tf-main" }
}

resource "aws_subnet" "a" {
  vpc_id                  = aws_vpc.main.id
  cidr_block              = "10.20.1.0/24"
  availability_zone       = data.aws_availability_zones.zones.names[0]
  map_public_ip_on_launch = true
  tags                    = { Name = "tf-a" }
}

resource "aws_subnet" "b" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.20.2.0/24"
  availability_zone = data.aws_availability_zones.zones.names[1]
}

resource "aws_security_group" "web" {
  name        = "tf-web"
  description = "web and ssh"
  vpc_id      = aws_vpc.main.id

  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8", "192.168.0.0/16"]
  }
  ingress {
    from_port = 0
    to_port   = 0
    protocol  = "-1"
    self      = true
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = { Name = "tf-web" }
}

resource "aws_security_group" "db" {
  name_prefix = "tf-db-"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_web" {
  security_group_id            = aws_security_group.db.id
  cidr_ipv4         = "10.20.1.0/24"
  from_port         = 5432
  to_port           = 5432
  ip_protocol       = "tcp"
  description       = "postgres from subnet a"
}

resource "aws_security_group_rule" "db_from_web" {
  type                     = "ingress"
  security_group_id        = aws_security_group.db.id
  from_port                = 6379
  to_port                  = 6379
  protocol                 = "tcp"
  source_security_group_id = aws_security_group.web.id
}

resource "aws_security_group_rule" "db_icmp" {
  type              = "ingress"
  security_group_id = aws_security_group.db.id
  from_port         = -1
  to_port           = -1
  protocol          = "icmp"
  cidr_blocks       = ["10.20.0.0/16"]
}

resource "aws_default_subnet" "a" {
  availability_zone = "us-east-1a"
}

resource "aws_default_security_group" "default" {
  vpc_id = aws_default_vpc.default.id
  ingress {
    protocol  = "-1"
    self      = true
    from_port = 0
    to_port   = 0
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_default_security_group" "main" {
  vpc_id = aws_vpc.main.id
  ingress {
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["10.20.0.0/16"]
  }
}

# An instance in the VPC made above, with an Elastic IP (which wants the
# VPC's internet gateway, as EC2's do), reached over SSH at that address.
resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
  tags   = { Name = "tf-main" }
}

data "aws_ami" "linux" {
  owners = ["amazon"]
  filter {
    name   = "name"
    values = ["amibox-sample-linux"]
  }
}

resource "aws_key_pair" "main" {
  key_name   = "tf-main"
  public_key = var.public_key
}

resource "aws_instance" "in_main" {
  ami                    = data.aws_ami.linux.id
  instance_type          = "m1.small"
  subnet_id              = aws_subnet.a.id
  vpc_security_group_ids = [aws_security_group.web.id]
  key_name               = aws_key_pair.main.key_name
  # Its public address needs the gateway, and goes before the gateway does.
  depends_on = [aws_internet_gateway.main]
}

resource "aws_eip" "web" {
  domain     = "vpc"
  instance   = aws_instance.in_main.id
  tags       = { Name = "tf-eip" }
  depends_on = [aws_internet_gateway.main]
}

# Provisioned once the address is the instance's: SSH reaches it there, and
# its metadata says so.
resource "terraform_data" "at_eip" {
  triggers_replace = [aws_instance.in_main.id, aws_eip.web.public_ip]
  connection {
    type        = "ssh"
    host        = aws_eip.web.public_ip
    user        = "root"
    private_key = file(var.private_key_file)
    timeout     = "3m"
  }
  provisioner "remote-exec" {
    inline = ["echo \"in the VPC at $(wget -qO- http://169.254.169.254/latest/meta-data/local-ipv4) public $(wget -qO- http://169.254.169.254/latest/meta-data/public-ipv4)\""]
  }
}

output "instance_ip" { value = aws_instance.in_main.private_ip }
output "instance_id" { value = aws_instance.in_main.id }
output "eip" { value = aws_eip.web.public_ip }
output "eip_allocation" { value = aws_eip.web.allocation_id }
output "zones" { value = data.aws_availability_zones.zones.names }
output "default_vpc" { value = data.aws_vpc.default.id }
output "default_subnets" { value = length(data.aws_subnets.default.ids) }
output "web_group" { value = aws_security_group.web.id }
output "main_vpc" { value = aws_vpc.main.id }
